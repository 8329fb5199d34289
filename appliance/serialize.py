"""JSON forms of readings, reported values and settings: the command line, the REST API and
the dashboard share them."""

from __future__ import annotations

from typing import Any

from appliance.grid import GridReading, ReportedGrid
from appliance.settings import Settings

SECRET_FIELDS = {("wifi", "password"), ("remote", "password_hash"), ("remote", "mqtt_password")}


def reading_to_dict(reading: GridReading, now_monotonic: float | None = None) -> dict[str, Any]:
    """A reading as plain JSON types: `scc measure --json`, the REST API (with its age)."""
    data: dict[str, Any] = {
        "source": reading.source.value,
        "monotonic_s": round(reading.monotonic_s, 3),
        "time": reading.wall_time_s,
        "valid": reading.valid,
        "voltage_v": round(reading.voltage_l1_v, 2),
        "frequency_hz": None if reading.frequency_hz is None else round(reading.frequency_hz, 4),
        "phase_count": reading.phase_count,
        "faults": sorted(f.value for f in reading.faults),
        "total_power_w": round(reading.total_power_w, 2),
        "import_energy_kwh": round(reading.import_energy_kwh, 6),
        "export_energy_kwh": round(reading.export_energy_kwh, 6),
        "phases": [
            {
                "current_a": round(p.current_a, 4),
                "signed_current_a": round(p.signed_current_a, 4),
                "power_w": round(p.power_w, 2),
                "voltage_v": round(p.voltage_v, 2),
                "power_factor": round(p.power_factor, 4),
                "direction": p.direction.value,
                "faults": sorted(f.value for f in p.faults),
            }
            for p in reading.phases
        ],
    }
    if now_monotonic is not None:
        data["age_s"] = round(reading.age_s(now_monotonic), 3)
    return data


def reported_to_dict(reported: ReportedGrid) -> dict[str, Any]:
    return {
        "time": reported.wall_time_s,
        "failsafe": reported.failsafe,
        "frequency_hz": reported.frequency_hz,
        "total_current_a": round(reported.total_current_a, 3),
        "total_power_w": round(reported.total_power_w, 1),
        "phases": [
            {
                "current_a": round(p.current_a, 3),
                "voltage_v": round(p.voltage_v, 1),
                "power_w": round(p.power_w, 1),
                "apparent_power_va": round(p.apparent_power_va, 1),
            }
            for p in reported.phases
        ],
    }


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings without passwords and hashes (they are write-only)."""
    data = settings.model_dump(mode="json")
    for section, name in SECRET_FIELDS:
        data[section][name + "_set"] = bool(data[section].pop(name))
    return data
