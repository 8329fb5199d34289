"""MQTT topics and payloads, with Home Assistant discovery (pure: no network).

Topics under `<prefix>/<device number>/`: `state` (JSON, once per second), `availability`
(`online`/`offline`, retained, the broker publishes `offline` as our last will), `mode` (retained,
the mode label) and `mode/set` (commands). Discovery configs go to
`homeassistant/<component>/scc_<device number>/<key>/config`, retained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from appliance import __version__
from appliance.grid import GridReading, ReportedGrid
from appliance.modes import ChargeMode, available_modes

DISCOVERY_PREFIX = "homeassistant"


@dataclass(frozen=True, slots=True)
class Topics:
    base: str

    @staticmethod
    def for_device(prefix: str, device_number: str) -> Topics:
        return Topics(f"{prefix.strip('/')}/{device_number}")

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def mode(self) -> str:
        return f"{self.base}/mode"

    @property
    def mode_command(self) -> str:
        return f"{self.base}/mode/set"


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """One Home Assistant sensor read from the state JSON."""

    key: str
    name: str
    unit: str
    device_class: str
    state_class: str = "measurement"
    precision: int = 2


def _sensors() -> tuple[SensorSpec, ...]:
    specs: list[SensorSpec] = []
    for n in (1, 2, 3):
        specs += [
            SensorSpec(f"current_l{n}", f"Grid current L{n}", "A", "current"),
            SensorSpec(f"power_l{n}", f"Grid power L{n}", "W", "power", precision=0),
            SensorSpec(f"voltage_l{n}", f"Voltage L{n}", "V", "voltage", precision=1),
            SensorSpec(f"reported_current_l{n}", f"Reported current L{n}", "A", "current"),
        ]
    specs += [
        SensorSpec("power_total", "Grid power", "W", "power", precision=0),
        SensorSpec("frequency", "Grid frequency", "Hz", "frequency", precision=3),
        SensorSpec("import_energy", "Grid import", "kWh", "energy", "total_increasing", 3),
        SensorSpec("export_energy", "Grid export", "kWh", "energy", "total_increasing", 3),
    ]
    return tuple(specs)


SENSORS = _sensors()


def _device(device_number: str) -> dict[str, Any]:
    return {
        "identifiers": [f"scc_{device_number}"],
        "name": f"SCC {device_number[-8:]}",
        "manufacturer": "scc-appliance",
        "model": "Smart charge controller",
        "sw_version": __version__,
        "serial_number": device_number,
    }


def discovery_messages(
    topics: Topics, device_number: str, phases: int, max_charge_current_a: float
) -> list[tuple[str, str]]:
    """Retained (topic, JSON payload) pairs that make the entities appear in Home Assistant."""
    node = f"scc_{device_number}"
    device = _device(device_number)
    common = {"availability_topic": topics.availability, "device": device}
    messages: list[tuple[str, str]] = []
    for spec in SENSORS:
        config = common | {
            "name": spec.name,
            "unique_id": f"{node}_{spec.key}",
            "object_id": f"{node}_{spec.key}",
            "state_topic": topics.state,
            "value_template": f"{{{{ value_json.{spec.key} }}}}",
            "unit_of_measurement": spec.unit,
            "device_class": spec.device_class,
            "state_class": spec.state_class,
            "suggested_display_precision": spec.precision,
        }
        messages.append((f"{DISCOVERY_PREFIX}/sensor/{node}/{spec.key}/config", json.dumps(config)))
    failsafe = common | {
        "name": "Fail-safe",
        "unique_id": f"{node}_failsafe",
        "state_topic": topics.state,
        "value_template": "{{ 'ON' if value_json.failsafe else 'OFF' }}",
        "device_class": "problem",
    }
    messages.append(
        (f"{DISCOVERY_PREFIX}/binary_sensor/{node}/failsafe/config", json.dumps(failsafe))
    )
    mode = common | {
        "name": "Charge mode",
        "unique_id": f"{node}_mode",
        "state_topic": topics.mode,
        "command_topic": topics.mode_command,
        "options": [m.label for m in available_modes(phases, max_charge_current_a)],
        "icon": "mdi:ev-station",
    }
    messages.append((f"{DISCOVERY_PREFIX}/select/{node}/mode/config", json.dumps(mode)))
    return messages


def state_payload(reading: GridReading | None, reported: ReportedGrid | None) -> dict[str, Any]:
    """The state JSON: measured values, what the charger is told, and the fail-safe flag."""
    state: dict[str, Any] = {"failsafe": reported.failsafe if reported else True}
    if reading is not None:
        for n, phase in enumerate(reading.phases, start=1):
            state[f"current_l{n}"] = round(phase.signed_current_a, 3)
            state[f"power_l{n}"] = round(phase.power_w, 1)
            state[f"voltage_l{n}"] = round(phase.voltage_v, 1)
        state["power_total"] = round(reading.total_power_w, 1)
        state["frequency"] = round(reading.frequency_hz, 3) if reading.frequency_hz else None
        state["import_energy"] = round(reading.import_energy_kwh, 3)
        state["export_energy"] = round(reading.export_energy_kwh, 3)
        state["faults"] = sorted(fault.value for fault in reading.all_faults())
    if reported is not None:
        for n, reported_phase in enumerate(reported.phases, start=1):
            state[f"reported_current_l{n}"] = round(reported_phase.current_a, 3)
    return state


def parse_mode_command(payload: bytes, phases: int, max_charge_current_a: float) -> ChargeMode:
    """A mode command: a label from the select (`CAPACITY 7 kW`) or the text form (`capacity:7`).

    Raises ValueError with the reason when the mode is unknown or not offered on this grid.
    """
    text = payload.decode("utf-8", errors="strict").strip()
    offered = available_modes(phases, max_charge_current_a)
    for mode in offered:
        if text == mode.label:
            return mode
    mode = ChargeMode.parse(text)
    if mode not in offered:
        raise ValueError(f"{mode.label} is not offered with this charger's maximum")
    return mode
