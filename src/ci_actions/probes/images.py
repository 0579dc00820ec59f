"""Are the images we built the ones in the pod template and in the running pods?

An expectation is `IMAGE` (matched to the container running that
repository) or `CONTAINER=IMAGE`. With a digest, a running container
matches when its `imageID` (or reported image) carries that digest; runtimes
write `imageID` as `docker-pullable://repo@sha256:…`, `repo@sha256:…` or
`docker.io/library/repo@sha256:…`, and it may be the digest of the index
rather than of the platform manifest (or the reverse of what the build
reported): a `related` callback (the registry, see registry.py) settles that.
Without a digest, repository and tag must match (Docker Hub short names
normalised: `nginx` is `docker.io/library/nginx`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ci_actions import grammar, imageref
from ci_actions.errors import InputError

Obj = dict[str, Any]
# related(name, digest_a, digest_b): one is an index that lists the other
Related = Callable[[str, str, str], bool]


@dataclass(frozen=True)
class Expected:
    container: str  # "" = whichever container runs this repository
    ref: imageref.ImageRef

    def __str__(self) -> str:
        return f"{self.container}={self.ref}" if self.container else str(self.ref)


def parse_expected(lines: list[str], input_name: str = "expected-images") -> list[Expected]:
    out = []
    for line in lines:
        container, sep, image = line.partition("=")
        if not sep:
            container, image = "", line
        if sep and (not container.strip() or "/" in container):
            # `=` can only separate a container name; a registry path is not one
            raise InputError(
                input_name,
                f"{line!r}: {container!r} is not a container name",
                hint="write CONTAINER=IMAGE or IMAGE",
            )
        try:
            ref = imageref.parse(image)
        except imageref.ImageRefError as exc:
            raise InputError(
                input_name,
                str(exc),
                hint="e.g. app=registry:5000/team/app:1.2.3 or registry/app@sha256:<64 hex>",
            ) from None
        if error := grammar.image_name_error(ref.name):
            raise InputError(input_name, f"{line[:80]!r}: name {ref.name[:80]!r} {error}")
        out.append(Expected(container.strip(), ref))
    return out


def _same_repo(a: imageref.ImageRef, b: imageref.ImageRef) -> bool:
    return (a.registry, a.repository) == (b.registry, b.repository)


def digest_of_image_id(image_id: str) -> str:
    """The digest in a container status `imageID`, whatever the runtime's form; "" when none."""
    text = image_id.split("://", 1)[-1]
    if "@" in text:
        return text.rsplit("@", 1)[1]
    return ""


def _versions_agree(expected: imageref.ImageRef, actual: imageref.ImageRef) -> bool:
    """Digest against digest when both have one, else tag against tag; a digest-only
    expectation accepts a tag here (the running pods prove the digest)."""
    if expected.digest and actual.digest:
        return expected.digest == actual.digest
    if expected.tag:
        return expected.tag == actual.tag
    return True


def matches(
    expected: imageref.ImageRef, image: str, image_id: str = "", related: Related | None = None
) -> bool:
    try:
        actual = imageref.parse(image)
    except imageref.ImageRefError:
        return False
    if not _same_repo(expected, actual):
        return False
    if expected.digest:
        running = digest_of_image_id(image_id) or actual.digest
        if expected.digest in (actual.digest, running):
            return True
        return bool(running and related and related(expected.name, expected.digest, running))
    return not expected.tag or expected.tag == actual.tag


def _pick(expected: Expected, containers: list[Obj], key: str = "image") -> Obj | None:
    for c in containers:
        if expected.container:
            if c.get("name") == expected.container:
                return c
            continue
        try:
            if _same_repo(expected.ref, imageref.parse(str(c.get(key, "")))):
                return c
        except imageref.ImageRefError:
            continue
    return None


def applies_to(expected: Expected, tmpl: Obj) -> bool:
    """Whether a pod template has the container this expectation is about
    (by name, or by image repository for a bare IMAGE)."""
    return _pick(expected, (tmpl.get("spec") or {}).get("containers") or []) is not None


@dataclass(frozen=True)
class Mismatch:
    where: str  # "template" or the pod name
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.where}: expected {self.expected}, found {self.actual or 'nothing'}"


def check_template(expected: list[Expected], tmpl: Obj) -> list[Mismatch]:
    """The pod template: a digest expectation is satisfied by a tag here (pods prove the digest)."""
    containers = (tmpl.get("spec") or {}).get("containers") or []
    problems = []
    for exp in expected:
        found = _pick(exp, containers)
        if found is None:
            problems.append(Mismatch("template", str(exp), ""))
            continue
        image = str(found.get("image", ""))
        try:
            actual = imageref.parse(image)
        except imageref.ImageRefError:
            problems.append(Mismatch("template", str(exp), image))
            continue
        if not (_same_repo(exp.ref, actual) and _versions_agree(exp.ref, actual)):
            problems.append(Mismatch("template", str(exp), image))
    return problems


def check_pods(
    expected: list[Expected], pods: list[Obj], related: Related | None = None
) -> list[Mismatch]:
    """Every running container of every pod carries what was expected; `related`
    accepts a digest that is the index of the other (or listed by it). A pod that has
    no container status yet runs nothing to compare (its spec is the template, checked
    apart); at least one pod must have started."""
    problems = []
    started = [p for p in pods if (p.get("status") or {}).get("containerStatuses")]
    if not started:
        return [Mismatch("pods", ", ".join(map(str, expected)), "no pods of the new version")]
    for pod in started:
        name = pod.get("metadata", {}).get("name", "")
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for exp in expected:
            found = _pick(exp, statuses)
            if found is None:
                problems.append(Mismatch(name, str(exp), ""))
            elif not matches(
                exp.ref, str(found.get("image", "")), str(found.get("imageID", "")), related
            ):
                actual = str(found.get("image", ""))
                if exp.ref.digest:
                    actual += f" ({found.get('imageID') or 'no imageID yet'})"
                problems.append(Mismatch(name, str(exp), actual))
    return problems
