"""Render an action's `action.yml` from its SPEC, the one source of its inputs and outputs.

`python -m ci_actions.github.actionyml [NAME ...]` rewrites actions/<name>/action.yml;
a test checks that each committed file is what this renders.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from ci_actions.actions import ACTIONS
from ci_actions.github.inputs import ActionSpec


def _scalar(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _default(text: str, indent: str) -> list[str]:
    if "\n" not in text:
        return [f"{indent}default: {_scalar(text)}"]
    return [
        f"{indent}default: |-",
        *(f"{indent}  {line}" if line else "" for line in text.splitlines()),
    ]


def render(spec: ActionSpec) -> str:
    lines = [
        f"# Generated from ci_actions.actions.{spec.name.replace('-', '_')}.SPEC by",
        "# `python -m ci_actions.github.actionyml`; edit the SPEC, not this file.",
        f"name: {_scalar('ci-actions ' + spec.name)}",
        f"description: {_scalar(spec.description)}",
        "author: ci-actions",
        "branding:",
        f"  icon: {spec.icon}",
        "  color: blue",
    ]
    if spec.inputs:
        lines.append("inputs:")
        for item in spec.inputs:
            lines += [
                f"  {item.name}:",
                f"    description: {_scalar(item.description)}",
                f"    required: {'true' if item.required else 'false'}",
                *_default(item.default, "    "),
            ]
    if spec.outputs:
        lines.append("outputs:")
        for out in spec.outputs:
            lines += [
                f"  {out.name}:",
                f"    description: {_scalar(out.description)}",
                f"    value: ${{{{ steps.run.outputs.{out.name} }}}}",
            ]
    install = '"$GITHUB_ACTION_PATH/../../scripts/install-action"' + (
        f" {spec.install_extra}" if spec.install_extra else ""
    )
    lines += [
        "runs:",
        "  using: composite",
        "  steps:",
        "    - name: Install ci-actions",
        "      shell: bash",
        f"      run: {_scalar(install)}",
        f"    - name: Run ci-actions {spec.name}",
        "      id: run",
        "      shell: bash",
    ]
    if spec.inputs:
        lines.append("      env:")
        lines += [f"        {i.env_name}: ${{{{ inputs.{i.name} }}}}" for i in spec.inputs]
    lines.append(f"      run: {_scalar(chr(34) + '$CI_ACTIONS_BIN' + chr(34) + ' ' + spec.name)}")
    return "\n".join(lines) + "\n"


def action_path(root: Path, name: str) -> Path:
    return root / "actions" / name / "action.yml"


def render_action(name: str) -> str:
    return render(importlib.import_module(ACTIONS[name]).SPEC)


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[3]
    for name in argv or sorted(ACTIONS):
        path = action_path(root, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_action(name), encoding="utf-8")
        print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
