from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.act import Consumer
from tests.support.tools import check_marks, needs, require


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every act test is slow (`scripts/test --fast` deselects them with `-m "not slow"`)
    and needs act."""
    for item in items:
        if item.get_closest_marker("act"):
            item.add_marker(pytest.mark.slow)
            item.add_marker(needs("act"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    check_marks(item)  # `needs` marks: skip, or fail under CI_ACTIONS_REQUIRE_TOOLS=1


@pytest.fixture
def consumer(tmp_path: Path) -> Consumer:
    """A throwaway consumer repository whose workflows run under act."""
    require("act")
    return Consumer(tmp_path / "consumer")


@pytest.fixture
def container_consumer(tmp_path: Path, container_engine: Engine) -> Consumer:  # noqa: F811
    """A consumer repository whose jobs run in the runner image on the private engine."""
    require("act")
    return Consumer(tmp_path / "consumer", container_engine)


@pytest.fixture
def make_consumer(tmp_path: Path) -> Callable[[str], Consumer]:
    return lambda name: Consumer(tmp_path / name)


# Shared fixtures: a real docker-registry on 127.0.0.1 (anonymous and basic auth), and the
# private podman engine with the runner image of act's container mode (one per xdist worker).
from tests.support.container_engine import Engine, container_engine  # noqa: E402, F401
from tests.support.registry import registry, registry_auth  # noqa: E402, F401
from tests.support.token_server import registry_token  # noqa: E402, F401
