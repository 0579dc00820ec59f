"""Capture docker/metadata-action's outputs for every case of the comparison table.

    .venv/bin/python -m tests.tags.capture_anchor            # rewrite the golden file
    .venv/bin/python -m tests.tags.capture_anchor --compare  # only show where we differ

The expected values come from the node action, never from our own output, so
this file is the one golden that UPDATE_GOLDEN=1 does not rewrite.

Needs `node` and a docker/metadata-action checkout (see tests/support/anchor.py).
"""

from __future__ import annotations

import json
import sys

from tests.support.anchor import (
    NOW,
    anchor_workdir,
    fake_api,
    fetch_anchor,
    remove,
    run_node,
    run_ours,
)
from tests.support.golden import path_of
from tests.tags.anchor_cases import cases

NAME = "image-tags/anchor.json"
GOLDEN = path_of(NAME)
REFRESH = "refresh from the node action: .venv/bin/python -m tests.tags.capture_anchor CASE"


def main(argv: list[str]) -> int:
    compare = "--compare" in argv
    only = [a for a in argv if not a.startswith("--")]
    work = anchor_workdir()
    try:
        found = fetch_anchor(work)
        if found is None:
            print("docker/metadata-action (dist/index.cjs) is not reachable", file=sys.stderr)
            return 3
        index, commit = found
        table = {}
        differ = 0
        with fake_api() as fake:
            for case in cases():
                if only and case.id not in only:
                    continue
                node = run_node(index, case, fake.url, work / "node" / case.id)
                assert node.env_matches_outputs(), case.id
                table[case.id] = node.comparable()
                if compare:
                    ours = run_ours(case, fake.url, work / "ours" / case.id)
                    if ours.comparable() != node.comparable():
                        differ += 1
                        print(f"DIFF {case.id}: node ok={node.ok} ours ok={ours.ok}")
                        for key in node.outputs:
                            if node.outputs.get(key) != ours.outputs.get(key):
                                print(
                                    f"  {key}\n    node: {node.outputs.get(key)!r}\n    ours: {ours.outputs.get(key)!r}"
                                )
                                break
                        if node.ok and ours.ok and node.env != ours.env:
                            print("  env differs")
                        if not node.ok:
                            print("  node log:", node.log[-400:])
                        if not ours.ok:
                            print("  ours log:", ours.log[-400:])
        if compare:
            print(f"{len(table)} cases, {differ} differ")
            return 1 if differ else 0
        if only and GOLDEN.exists():  # refresh the named cases, keep the others
            table = {**json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"], **table}
            table = {case.id: table[case.id] for case in cases() if case.id in table}
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(
            json.dumps(
                {
                    "anchor": f"docker/metadata-action@{commit}",
                    "now": NOW.isoformat(),
                    "cases": table,
                },
                indent=1,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {len(table)} cases to {GOLDEN}")
        return 0
    finally:
        remove(work)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
