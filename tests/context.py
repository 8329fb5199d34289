"""A simulated appliance's runtime context for tests: settings in a temporary directory,
gpiozero's MockFactory for pins, the clock the test drives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from appliance.clock import Clock
from appliance.identity import DeviceIdentity
from appliance.runtime.context import Hub, RuntimeContext, SettingsHolder
from appliance.settings import Settings, SettingsStore
from drivers.pinmap import load_pinmap

DEVICE_NUMBER = "0000008879"


def make_context(
    state_dir: Path,
    clock: Clock,
    *,
    settings: Settings | None = None,
    simulate: bool = True,
    device_number: str = DEVICE_NUMBER,
    pin_factory: Any = None,
) -> RuntimeContext:
    store = SettingsStore(state_dir / "settings.json")
    return RuntimeContext(
        settings=SettingsHolder(store, settings if settings is not None else store.load()),
        hub=Hub(),
        clock=clock,
        identity=DeviceIdentity(device_number),
        pinmap=load_pinmap(),
        pin_factory=pin_factory if pin_factory is not None else MockFactory(),
        state_dir=state_dir,
        simulate=simulate,
    )
