"""Which services a change selects, and the build matrix of them."""

from __future__ import annotations

from collections.abc import Sequence

from ci_actions.pathfilter import PathFilter
from ci_actions.services.model import Service


def select(
    services: Sequence[Service],
    files: Sequence[str],
    docs_globs: Sequence[str] = (),
    *,
    everything: bool = False,
) -> list[Service]:
    """The services (in declaration order) that one of `files` changes: a file matching a
    service's paths (its context, then the shared paths it declares; `!` excludes).
    Documentation (files matching `docs_globs`) changes no service. `everything` (a tag,
    a manual run, `all-services`) selects them all."""
    if everything:
        return list(services)
    docs = PathFilter.from_patterns("docs", docs_globs) if docs_globs else None
    code = [f for f in files if docs is None or not docs.matches(f)]
    if not code:
        return []
    return [
        s for s in services if any(map(PathFilter.from_patterns(s.name, s.paths).matches, code))
    ]


def matrix(services: Sequence[Service]) -> dict[str, list[dict[str, object]]]:
    """`{"include": [...]}` for `strategy.matrix: ${{ fromJSON(...) }}`."""
    return {"include": [s.as_json() for s in services]}
