"""A runtime context on the simulated HAT (MockFactory pins, pty UART) for the P1 parts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.clock import SystemClock
from appliance.identity import DeviceIdentity
from appliance.runtime.context import Hub, RuntimeContext, SettingsHolder
from appliance.settings import Settings, SettingsStore
from drivers.pinmap import load_pinmap
from tests.p1.helpers import DEVICE


def make_context(state_dir: Path, settings: Settings | None = None) -> RuntimeContext:
    store = SettingsStore(state_dir / "settings.json")
    return RuntimeContext(
        settings=SettingsHolder(store, settings or Settings()),
        hub=Hub(),
        clock=SystemClock(),
        identity=DeviceIdentity(DEVICE),
        pinmap=load_pinmap(),
        pin_factory=MockFactory(),
        state_dir=state_dir,
        simulate=True,
    )


@pytest.fixture
def ctx(state_dir: Path) -> Iterator[RuntimeContext]:
    context = make_context(state_dir)
    yield context
    context.pin_factory.close()
