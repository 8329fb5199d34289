"""Shared fixtures: an injected clock, a temporary state directory, the slow-test switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.clock import FakeClock
from appliance.runtime.context import RuntimeContext
from tests.context import make_context


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir()
    return directory


@pytest.fixture
def runtime_context(state_dir: Path, clock: FakeClock) -> RuntimeContext:
    """A simulated appliance's context: settings in a temporary dir, gpiozero's MockFactory."""
    return make_context(state_dir, clock)
