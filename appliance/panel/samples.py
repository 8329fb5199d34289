"""Fixed sample data for every screen: `scc screens`, the docs and the golden tests use it.

The samples deliberately carry the widest values the screens must hold (CAPACITY 22 kW,
80.00 A, a long development version, a 32-character SSID) so that clipping shows up here first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from appliance.grid import Direction, Fault, GridReading, PhaseReading, ReportedGrid, Source
from appliance.modes import ECO_PLUS, ChargeMode, ModeKind, available_modes
from appliance.panel.content import PanelData, settings_rows, settings_summary
from appliance.panel.menu import HoldProgress, MenuView
from appliance.panel.menu_tree import Screen
from appliance.services import CommissioningStatus, UpdateProgress, UpdateState
from appliance.settings import Settings, WifiSettings

SAMPLE_MONOTONIC = 5000.0
SAMPLE_WALL = 1_767_225_600.0


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    view: MenuView
    data: PanelData
    caption: str


def sample_reading() -> GridReading:
    return GridReading(
        monotonic_s=SAMPLE_MONOTONIC,
        wall_time_s=SAMPLE_WALL,
        source=Source.CT,
        phases=(
            PhaseReading(80.0, 18_400.0, 230.0, 1.0, Direction.IMPORT),
            PhaseReading(12.34, -2_800.0, 229.1, 0.99, Direction.EXPORT),
            PhaseReading(0.0, 0.0, 231.2, 0.0, Direction.NONE),
        ),
        frequency_hz=49.98,
    )


def sample_settings() -> Settings:
    settings = Settings()
    settings = settings.with_section(
        "wifi",
        WifiSettings(ssid="Home-Network-5G-Extender-Garage1"),  # the longest SSID
    )
    return settings.with_mode(ChargeMode(ModeKind.CAPACITY, 7))


def sample_data(settings: Settings | None = None) -> PanelData:
    settings = settings or sample_settings()
    reading = sample_reading()
    return PanelData(
        mode=settings.control.charge_mode,
        modes=available_modes(settings.grid.phases, settings.grid.max_charge_current_a),
        reading=reading,
        reported=ReportedGrid.passthrough(reading),
        reading_age_s=0.4,
        stale_after_s=settings.metering.stale_after_s,
        versions=(
            ("Firmware", "0.1.0.dev42+g1a2b3c4"),
            ("Kernel", "6.12.25+rpt-rpi-v8"),
            ("Device", "0000008879"),
        ),
        settings_rows=settings_rows(settings),
        settings_summary=settings_summary(settings),
        commissioning=CommissioningStatus(active=False),
        update=UpdateProgress(UpdateState.IDLE),
        factory_reset_available=True,
    )


def _view(screen: Screen, *, mode_index: int = 0, settings_index: int = 0) -> MenuView:
    return MenuView(screen, mode_index, settings_index, None)


def all_samples() -> tuple[Sample, ...]:
    base = sample_data()
    widest_mode = ChargeMode(ModeKind.CAPACITY, 22)
    reading = sample_reading()
    missing_ct = replace(
        reading,
        phases=(
            reading.phases[0],
            reading.phases[1],
            PhaseReading(0.0, 0.0, 231.2, faults=frozenset({Fault.CT_MISSING})),
        ),
    )
    ssid, code = "SCC-00008879", "40718265"
    hold5 = MenuView(Screen.COMMISSIONING, 0, 0, HoldProgress(2.6, 5.0))
    hold10 = MenuView(Screen.FACTORY_RESET_CONFIRM, 0, 0, HoldProgress(7.5, 10.0))
    mode_index = base.modes.index(base.mode)
    wifi_row = next(n for n, (label, _) in enumerate(base.settings_rows) if label == "Wi-Fi")
    return (
        Sample("home", _view(Screen.HOME), base, "Home: the active charge mode"),
        Sample(
            "home_eco_plus",
            _view(Screen.HOME),
            replace(base, mode=ECO_PLUS, reading=None, reading_age_s=None),
            "Home, ECO+ without grid data",
        ),
        Sample(
            "home_capacity_22",
            _view(Screen.HOME),
            replace(base, mode=widest_mode, modes=available_modes(3, 32)),
            "Home with the widest mode",
        ),
        Sample(
            "mode_list",
            _view(Screen.MODE_LIST, mode_index=mode_index),
            base,
            "Charge mode list: the cursor starts on the mode in force (dot)",
        ),
        Sample(
            "mode_list_moved",
            _view(Screen.MODE_LIST, mode_index=len(base.modes) - 1),
            base,
            "Charge mode list scrolled to CAPACITY 22 kW",
        ),
        Sample("measurements", _view(Screen.MEASUREMENTS), base, "Current measurements"),
        Sample(
            "measurements_no_ct",
            _view(Screen.MEASUREMENTS),
            replace(base, reading=missing_ct),
            "Current measurements with L3's CT missing",
        ),
        Sample(
            "measurements_no_data",
            _view(Screen.MEASUREMENTS),
            replace(base, reading_age_s=30.0),
            "Current measurements without fresh data",
        ),
        Sample("versions", _view(Screen.VERSIONS), base, "Software versions"),
        Sample("settings", _view(Screen.SETTINGS), base, "Settings"),
        Sample("settings_list", _view(Screen.SETTINGS_LIST), base, "Settings list"),
        Sample(
            "settings_list_wifi",
            _view(Screen.SETTINGS_LIST, settings_index=wifi_row),
            base,
            "Settings list with a 32-character SSID",
        ),
        Sample("commissioning", _view(Screen.COMMISSIONING), base, "Commissioning"),
        Sample("commissioning_hold", hold5, base, "Commissioning: OK held for 2.6 s"),
        Sample(
            "commissioning_unavailable",
            _view(Screen.COMMISSIONING),
            replace(base, commissioning=None),
            "Commissioning without its service",
        ),
        Sample(
            "commissioning_starting",
            _view(Screen.COMMISSIONING_ACTIVE),
            base,
            "Commissioning: access point starting",
        ),
        Sample(
            "commissioning_qr",
            _view(Screen.COMMISSIONING_ACTIVE),
            replace(base, commissioning=CommissioningStatus(True, ssid, code)),
            "Commissioning: SSID, code and join QR code",
        ),
        Sample(
            "commissioning_connected",
            _view(Screen.COMMISSIONING_ACTIVE),
            replace(
                base,
                commissioning=CommissioningStatus(
                    True, ssid, code, station_connected=True, url="http://192.168.11.1/"
                ),
            ),
            "Commissioning: a phone is connected",
        ),
        Sample("firmware_update", _view(Screen.FIRMWARE_UPDATE), base, "Firmware update"),
        Sample(
            "update_running",
            _view(Screen.UPDATE_RUNNING),
            replace(
                base,
                update=UpdateProgress(UpdateState.DOWNLOADING, 42, "scc-0.2.0.bundle"),
            ),
            "Firmware update: downloading",
        ),
        Sample(
            "update_done",
            _view(Screen.UPDATE_RUNNING),
            replace(base, update=UpdateProgress(UpdateState.DONE, 100, "Version 0.2.0")),
            "Firmware update: installed",
        ),
        Sample(
            "update_failed",
            _view(Screen.UPDATE_RUNNING),
            replace(
                base,
                update=UpdateProgress(
                    UpdateState.FAILED, 0, "bad signature: bundle refused, nothing changed"
                ),
            ),
            "Firmware update: refused",
        ),
        Sample("factory_reset", _view(Screen.FACTORY_RESET), base, "Factory reset"),
        Sample("factory_reset_confirm", hold10, base, "Factory reset: confirm, OK held 7.5 s"),
        Sample("resetting", _view(Screen.RESETTING), base, "Factory reset running"),
    )
