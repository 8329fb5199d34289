"""What every running part of the appliance gets: settings, the newest values, clock, hardware."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.clock import Clock
from appliance.grid import GridReading, ReportedGrid
from appliance.identity import DeviceIdentity
from appliance.runtime.topic import Topic
from appliance.settings import Settings, SettingsStore
from drivers.pinmap import PinMap


class SettingsHolder:
    """The settings in force. `update` validates, persists atomically, then publishes."""

    def __init__(self, store: SettingsStore, initial: Settings) -> None:
        self.store = store
        self.changes: Topic[Settings] = Topic(initial)

    @property
    def current(self) -> Settings:
        value = self.changes.latest
        assert value is not None
        return value

    def update(self, new: Settings) -> None:
        validated = Settings.model_validate(new.model_dump())
        self.store.save(validated)
        self.changes.publish(validated)


@dataclass
class Hub:
    """The newest measurement and the newest re-calculated values."""

    readings: Topic[GridReading] = field(default_factory=Topic)
    reported: Topic[ReportedGrid] = field(default_factory=Topic)


@dataclass
class RuntimeContext:
    settings: SettingsHolder
    hub: Hub
    clock: Clock
    identity: DeviceIdentity
    pinmap: PinMap
    pin_factory: Any  # a gpiozero pin factory: the real one on a Pi, MockFactory in simulation
    state_dir: Path
    simulate: bool
    # Extra objects parts publish for each other (e.g. the Modbus request log), by name.
    services: dict[str, Any] = field(default_factory=dict)
