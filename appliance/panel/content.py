"""What the screens say: the snapshot of live data they draw, and the rows of the text screens."""

from __future__ import annotations

import platform
from dataclasses import dataclass

from appliance import __version__
from appliance.grid import GridReading, ReportedGrid
from appliance.modes import ChargeMode
from appliance.services import CommissioningStatus, UpdateProgress
from appliance.settings import Settings

Row = tuple[str, str]  # label, value

_METERING = {"ct": "CT clamps", "p1": "P1 meter"}
_NETWORK = {"single": "1-phase", "star": "3-ph star", "delta": "3-ph delta"}


@dataclass(frozen=True, slots=True)
class PanelData:
    """A snapshot of everything the screens show besides the menu's own state."""

    mode: ChargeMode
    modes: tuple[ChargeMode, ...]
    reading: GridReading | None  # newest measurement
    reported: ReportedGrid | None  # newest re-calculated values
    reading_age_s: float | None  # age of `reading` at render time
    stale_after_s: float
    versions: tuple[Row, ...]
    settings_rows: tuple[Row, ...]
    settings_summary: tuple[str, ...]
    commissioning: CommissioningStatus | None  # None: no commissioning service here
    update: UpdateProgress | None  # None: no firmware update service here
    factory_reset_available: bool
    action_error: str = ""  # a service call that failed (shown on the screen that made it)

    @property
    def reading_stale(self) -> bool:
        return (
            self.reading is None
            or self.reading_age_s is None
            or self.reading_age_s > self.stale_after_s
        )


def collect_versions(device_number: str) -> tuple[Row, ...]:
    """The software versions screen: our release, the OS kernel, the device number (LDN)."""
    return (
        ("Firmware", __version__),
        ("Kernel", platform.release()),
        ("Device", device_number),
    )


def settings_rows(settings: Settings) -> tuple[Row, ...]:
    """The settings list (manual 5.4), in the order of the commissioning pages."""
    grid, meter, wifi, p1 = settings.grid, settings.meter, settings.wifi, settings.p1
    rows: list[Row] = [
        ("Phases", str(grid.phases)),
        ("Network", _NETWORK[grid.network]),
        ("Max current", f"{grid.max_charge_current_a} A"),
        ("Min current", f"{grid.min_charge_current_a} A"),
        ("Startup time", f"{grid.charger_startup_time_s} s"),
        ("Detect time", f"{grid.current_detection_time_s} s"),
        ("Metering", _METERING[grid.metering_device]),
        ("CT ratio", str(grid.ct_ratio)),
        ("Meter", meter_label(meter.emulate)),
        ("IP address", str(meter.ip_address)),
        ("Modbus port", str(meter.modbus_port)),
        ("RTU address", str(meter.rtu_unit) if meter.rtu_enabled else "off"),
        ("Wi-Fi", wifi.ssid or "not set"),
        ("P1 output", p1.profile.upper() if p1.enabled else "off"),
        ("Mode", settings.control.charge_mode.label),
    ]
    return tuple(rows)


def settings_summary(settings: Settings) -> tuple[str, ...]:
    """Three lines for the top-level Settings screen."""
    grid = settings.grid
    phases = "1 phase" if grid.phases == 1 else "3 phases"
    return (
        f"{phases}, max {grid.max_charge_current_a} A",
        f"Metering: {_METERING[grid.metering_device]}",
        f"Meter: {meter_label(settings.meter.emulate)}",
    )


def meter_label(name: str) -> str:
    """`emu_professional` -> `EMU Professional`, `sdm630` -> `SDM630`."""
    words = name.split("_")
    return " ".join(
        w.upper() if len(w) <= 3 or any(c.isdigit() for c in w) else w.title() for w in words
    )
