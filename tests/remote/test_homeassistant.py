from __future__ import annotations

import json

import pytest

from appliance.grid import Direction, GridReading, PhaseReading, ReportedGrid, Source
from appliance.modes import ChargeMode
from appliance.remote.homeassistant import (
    Topics,
    discovery_messages,
    parse_mode_command,
    state_payload,
)


def reading(*currents: float) -> GridReading:
    phases = tuple(
        PhaseReading(
            current_a=abs(i),
            power_w=230 * i,
            voltage_v=230.0,
            direction=Direction.IMPORT if i > 0 else Direction.EXPORT,
        )
        for i in currents
    )
    return GridReading(1.0, 1_767_225_600.0, Source.CT, phases)  # type: ignore[arg-type]


def test_discovery_describes_every_sensor_and_the_mode_select() -> None:
    topics = Topics.for_device("scc", "0000008879")
    messages = dict(discovery_messages(topics, "0000008879", 3, 32))
    select = json.loads(messages["homeassistant/select/scc_0000008879/mode/config"])
    assert select["command_topic"] == "scc/0000008879/mode/set"
    assert select["options"][:3] == ["ECO+ (PV only)", "ECO (PV + 6 A)", "CAPACITY 4 kW"]
    assert select["options"][-1] == "CAPACITY 22 kW"
    current = json.loads(messages["homeassistant/sensor/scc_0000008879/current_l2/config"])
    assert current["unit_of_measurement"] == "A"
    assert current["device_class"] == "current"
    assert current["availability_topic"] == "scc/0000008879/availability"
    energy = json.loads(messages["homeassistant/sensor/scc_0000008879/import_energy/config"])
    assert energy["state_class"] == "total_increasing"
    unique_ids = [json.loads(payload)["unique_id"] for payload in messages.values()]
    assert len(unique_ids) == len(set(unique_ids))


def test_state_carries_signed_currents_and_reported_values() -> None:
    measured = reading(10.0, -4.0, 0.5)
    state = state_payload(measured, ReportedGrid.passthrough(measured))
    assert state["current_l1"] == 10.0
    assert state["current_l2"] == -4.0
    assert state["power_total"] == pytest.approx(230 * 6.5)
    assert state["reported_current_l2"] == 4.0
    assert state["failsafe"] is False


def test_no_data_yet_reads_as_failsafe() -> None:
    assert state_payload(None, None) == {"failsafe": True}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"CAPACITY 7 kW", "capacity:7"), (b"ECO (PV + 6 A)", "eco"), (b"eco+", "eco+")],
)
def test_mode_commands(payload: bytes, expected: str) -> None:
    assert parse_mode_command(payload, 3, 32) == ChargeMode.parse(expected)


@pytest.mark.parametrize("payload", [b"TURBO", b"capacity:22", b"\xff\xfe", b""])
def test_bad_mode_commands_are_refused(payload: bytes) -> None:
    with pytest.raises(ValueError):
        parse_mode_command(payload, 1, 32)  # 1 x 230 V x 32 A: CAPACITY up to 7 kW only
