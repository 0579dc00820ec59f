"""kustomize-bump `ordering: semver`: an older version never replaces a newer one, real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.act import git
from tests.support.cli import invoke
from tests.support.gitops import OVERLAY, clone, gitops_files, make_remote, show

API = "registry.local:5000/team/api"
PROD = "overlays/prod/kustomization.yaml"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    files = gitops_files()
    files[PROD] = OVERLAY.format(env="prod").replace('newTag: "1.0.0"  # set', 'newTag: "2.0.0"  # set')  # fmt: skip
    return make_remote(tmp_path, files)


def bump(tmp: Path, work: Path, tag: str, *extra: str) -> tuple[int, str, dict[str, str]]:
    run = invoke(
        tmp / f"run-{tag}",
        "kustomize-bump",
        ["--paths", "overlays/prod", "--images", f"{API}:{tag}", "--mode", "commit", *extra],
        cwd=work,
    )
    return run.code, run.log, run.outputs


@pytest.mark.parametrize(
    ("tag", "ordering", "lands"),
    [
        ("1.5.0", "semver", False),  # older: skipped
        ("2.0.0-rc.1", "semver", False),  # a pre-release of the version there is older
        ("2.0.1", "semver", True),
        ("v2.1.0", "semver", True),
        ("sha-3f2a9c1", "semver", True),  # not SemVer: not compared
        ("1.5.0", "none", True),  # the default keeps the old behaviour
    ],
)
def test_an_older_version_is_skipped_with_a_notice(
    tmp_path: Path, remote: Path, tag: str, ordering: str, lands: bool
) -> None:
    work = clone(tmp_path, remote, "work")
    head = git(remote, "rev-parse", "main")
    extra = ["--ordering", ordering] if ordering != "none" else []
    code, log, outputs = bump(tmp_path, work, tag, *extra)

    assert code == 0, log
    assert outputs["changed"] == ("true" if lands else "false")
    landed = f'newTag: "{tag}"' in show(remote, PROD) or f"newTag: {tag}" in show(remote, PROD)
    assert landed is lands
    if not lands:
        assert git(remote, "rev-parse", "main") == head
        assert outputs["commit-sha"] == ""
        assert (
            f"::notice file={PROD},line=" in log
            and f"{API}: 2.0.0 is newer than {tag}; not replaced (ordering: semver)" in log
        ), log
        assert git(work, "status", "--porcelain") == ""
    else:
        assert "not replaced" not in log


def test_the_guard_decides_again_on_the_head_fetched_after_a_rejected_push(
    tmp_path: Path, remote: Path
) -> None:
    """A newer version lands between our fetch and our push: the retry skips, it does not overwrite."""
    work = clone(tmp_path, remote, "work")
    racer = clone(tmp_path, remote, "racer")
    racer_file = racer / PROD
    racer_file.write_text(racer_file.read_text().replace('"2.0.0"', '"3.0.0"'))
    git(racer, "commit", "-qam", "racer: 3.0.0")
    # Our push runs the pre-push hook first: it lands the racer's 3.0.0 once, so ours is rejected.
    hook = work / ".git/hooks/pre-push"
    marker = tmp_path / "raced"
    hook.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; '
        f'git -C "{racer}" push -q origin HEAD:main >&2; fi\n'
    )
    hook.chmod(0o755)

    code, log, outputs = bump(tmp_path, work, "2.5.0", "--ordering", "semver")

    assert code == 0, log
    assert marker.exists()
    assert outputs["changed"] == "false" and outputs["commit-sha"] == ""
    assert 'newTag: "3.0.0"' in show(remote, PROD)
    assert git(remote, "log", "-1", "--format=%s", "main") == "racer: 3.0.0"
    assert "3.0.0 is newer than 2.5.0; not replaced (ordering: semver)" in log


def test_bad_ordering_is_exit_2(tmp_path: Path, remote: Path) -> None:
    work = clone(tmp_path, remote, "work")
    code, log, _ = bump(tmp_path, work, "2.1.0", "--ordering", "time")
    assert code == 2
    assert "input 'ordering'" in log and "none, semver" in log
