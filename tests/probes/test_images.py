"""Expected images against templates and container statuses as runtimes report them."""

from __future__ import annotations

import pytest

from ci_actions.errors import InputError
from ci_actions.probes.images import check_pods, check_template, digest_of_image_id, parse_expected

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


@pytest.mark.parametrize(
    ("image_id", "digest"),
    [
        (f"docker-pullable://reg:5000/team/web@{D1}", D1),  # dockershim / cri-dockerd
        (f"reg:5000/team/web@{D1}", D1),  # containerd
        (f"docker.io/library/nginx@{D1}", D1),
        (f"docker://{D1}", ""),  # an image config ID, not a manifest digest
        (D1, ""),
        ("", ""),
    ],
)
def test_digest_of_image_id(image_id: str, digest: str) -> None:
    assert digest_of_image_id(image_id) == digest


def pod(name: str, image: str, image_id: str, container: str = "app") -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "status": {"containerStatuses": [{"name": container, "image": image, "imageID": image_id}]},
    }


# (expected line, image reported, imageID, matches)
PODS = [
    (
        "reg:5000/team/web:1.2.0",
        "reg:5000/team/web:1.2.0",
        f"docker-pullable://reg:5000/team/web@{D1}",
        True,
    ),
    ("reg:5000/team/web:1.2.0", "reg:5000/team/web:1.1.0", f"reg:5000/team/web@{D1}", False),
    (f"reg:5000/team/web@{D1}", "reg:5000/team/web:1.2.0", f"reg:5000/team/web@{D1}", True),
    (f"reg:5000/team/web@{D1}", "reg:5000/team/web:1.2.0", f"reg:5000/team/web@{D2}", False),
    (f"reg:5000/team/web:1.2.0@{D1}", f"reg:5000/team/web@{D1}", "", True),
    ("nginx:1.27", "docker.io/library/nginx:1.27", f"docker.io/library/nginx@{D1}", True),
    ("app=reg:5000/team/web:1.2.0", "reg:5000/team/web:1.2.0", "", True),
    ("sidecar=reg:5000/team/web:1.2.0", "reg:5000/team/web:1.2.0", "", False),
    ("reg:5000/team/api:1.2.0", "reg:5000/team/web:1.2.0", "", False),
]


@pytest.mark.parametrize(("line", "image", "image_id", "ok"), PODS)
def test_running_pods(line: str, image: str, image_id: str, ok: bool) -> None:
    problems = check_pods(parse_expected([line]), [pod("web-1", image, image_id)])
    assert (not problems) is ok, problems


def test_no_pods_is_a_mismatch() -> None:
    [problem] = check_pods(parse_expected(["reg/web:1"]), [])
    assert "no pods" in problem.actual


def test_a_pod_not_started_yet_is_not_judged_but_one_must_have_started() -> None:
    """A pod the ReplicaSet just created (an HPA scale-up after the verdict) has no
    container status: nothing runs in it to compare; its spec is the template."""
    expected = parse_expected([f"reg/web:1@{D1}"])
    fresh = {"metadata": {"name": "web-2"}, "status": {"phase": "Pending"}}
    running = pod("web-1", "reg/web:1", f"docker-pullable://reg/web@{D1}")
    assert check_pods(expected, [running, fresh]) == []
    [problem] = check_pods(expected, [fresh])
    assert "no pods" in problem.actual


@pytest.mark.parametrize(
    ("line", "template_image", "ok"),
    [
        ("reg/web:2", "reg/web:2", True),
        ("reg/web:2", "reg/web:1", False),
        (f"reg/web@{D1}", "reg/web:2", True),  # the pods prove the digest
        (f"reg/web@{D1}", f"reg/web@{D2}", False),
        ("web=reg/web:2", "reg/web:2", False),  # no container named web
    ],
)
def test_template(line: str, template_image: str, ok: bool) -> None:
    template = {"spec": {"containers": [{"name": "app", "image": template_image}]}}
    assert (not check_template(parse_expected([line]), template)) is ok


@pytest.mark.parametrize(
    "line", ["reg/web:bad tag", "reg/x=reg/web:1", "=reg/web:1", "reg/web@sha256:short"]
)
def test_bad_expectations(line: str) -> None:
    with pytest.raises(InputError, match="expected-images"):
        parse_expected([line])
