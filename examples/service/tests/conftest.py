from __future__ import annotations

import sys
from pathlib import Path

# The service is run from its own folder (`python -m app`); its tests do the same.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
