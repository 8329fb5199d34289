"""Test doubles of the services the panel calls (the real ones live in other parts)."""

from __future__ import annotations

from PIL import Image

from appliance.modes import available_modes
from appliance.panel.content import PanelData, collect_versions, settings_rows, settings_summary
from appliance.panel.menu import MenuView
from appliance.panel.menu_tree import Screen
from appliance.panel.screens import render
from appliance.runtime.context import RuntimeContext
from appliance.services import CommissioningStatus, UpdateProgress, UpdateState
from appliance.settings import Settings


class FakeCommissioning:
    def __init__(self, fail: str = "") -> None:
        self.calls: list[str] = []
        self._status = CommissioningStatus(active=False)
        self._fail = fail

    async def start(self) -> None:
        self.calls.append("start")
        if self._fail:
            raise OSError(self._fail)
        self._status = CommissioningStatus(True, "SCC-00008879", "40718265")

    async def stop(self) -> None:
        self.calls.append("stop")
        self._status = CommissioningStatus(active=False)

    def status(self) -> CommissioningStatus:
        return self._status

    def station_connects(self) -> None:
        self._status = CommissioningStatus(
            True, "SCC-00008879", "40718265", station_connected=True, url="http://192.168.11.1/"
        )


class FakeUpdate:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.state = UpdateProgress(UpdateState.IDLE)

    async def start(self) -> None:
        self.calls.append("start")
        self.state = UpdateProgress(UpdateState.DOWNLOADING, 10)

    def progress(self) -> UpdateProgress:
        return self.state


class FakeReset:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def reset(self) -> None:
        self.calls.append("reset")


def expected_home(ctx: RuntimeContext, settings: Settings) -> Image.Image:
    """The home screen as it must look, built from the settings alone."""
    data = PanelData(
        mode=settings.control.charge_mode,
        modes=available_modes(settings.grid.phases, settings.grid.max_charge_current_a),
        reading=None,
        reported=None,
        reading_age_s=None,
        stale_after_s=settings.metering.stale_after_s,
        versions=collect_versions(ctx.identity.device_number),
        settings_rows=settings_rows(settings),
        settings_summary=settings_summary(settings),
        commissioning=None,
        update=None,
        factory_reset_available=False,
    )
    return render(MenuView(Screen.HOME, 0, 0, None), data)
