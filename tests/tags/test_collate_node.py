"""Label key order against node's own `localeCompare`, on thousands of generated keys."""

from __future__ import annotations

import json
import random
import subprocess
from functools import cmp_to_key

import pytest

from ci_actions.tags.collate import locale_compare
from tests.support.tools import needs

# ASCII key characters, Latin letters with accents, ligatures and strokes, other scripts.
ALPHABET = (
    "abcdeilnosuzABEILOSZ059._-/:@ ÀÂÄàâäÇÈÊËÎÏÔÖÙÛÜŸéÉèüÜöñçßæøåłđ\u0131İœŒÆǆﬁŀαβγΩωабвЖאבعب한中日"  # noqa: RUF001 - other scripts on purpose
)
SORT_JS = (
    "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{"
    "const a=JSON.parse(d);a.sort((x,y)=>x.localeCompare(y));console.log(JSON.stringify(a))})"
)


@needs("node")
@pytest.mark.parametrize("seed", [7, 11])
def test_same_order_as_node(seed: int) -> None:
    rng = random.Random(seed)
    keys = sorted(
        {"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8))) for _ in range(4000)}
    )
    node = subprocess.run(
        ["node", "-e", SORT_JS], input=json.dumps(keys), capture_output=True, text=True, check=True
    )
    expected = json.loads(node.stdout)
    assert sorted(keys, key=cmp_to_key(locale_compare)) == expected
