"""Named sets of tag rules (`preset` input), expanded before the explicit `tags`.

multi:   `latest` on the default branch, `sha-<short sha>`, the build date
         `<YYYYMMDD>` and the branch name.
gitflow: `stable-<short sha>` on the default branch (main), `beta-<YYYYMMDD-HHmmss>-<short sha>`
         on `develop`, `dev-<branch>-<short sha>` on any other branch.
"""

from __future__ import annotations

PRESETS = ("multi", "gitflow")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def expand(preset: str, ref: str, default_branch: str) -> list[str]:
    """The rule lines of a preset for this ref; an unknown name is a ValueError."""
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""
    main = default_branch or "main"
    if preset == "multi":
        return [
            "type=ref,event=branch",
            "type=sha",
            "type=raw,value={{date 'YYYYMMDD'}}",
            "type=raw,value=latest,enable={{is_default_branch}}",
        ]
    if preset == "gitflow":
        on_main = branch == main
        on_develop = branch == "develop"
        elsewhere = bool(branch) and not on_main and not on_develop
        return [
            f"type=raw,value=stable-{{{{sha}}}},enable={_flag(on_main)}",
            f"type=raw,value=beta-{{{{date 'YYYYMMDD-HHmmss'}}}}-{{{{sha}}}},enable={_flag(on_develop)}",
            f"type=raw,value=dev-{{{{branch}}}}-{{{{sha}}}},enable={_flag(elsewhere)}",
        ]
    raise ValueError(f"unknown preset {preset!r} (one of {', '.join(PRESETS)})")
