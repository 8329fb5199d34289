"""The runtime part: services registered, a new release confirmed or rolled back, factory reset."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.clock import FakeClock
from appliance.grid import GridReading, PhaseReading, Source
from appliance.modes import ChargeMode
from appliance.runtime.context import RuntimeContext
from appliance.runtime.update import (
    GUARD_PROGRAM,
    refresh_guard,
    run_update_service,
    running_release,
    wait_for_fresh_reading,
)
from appliance.services import FactoryResetService, FirmwareUpdateService, UpdateState
from appliance.settings import Settings, SettingsStore, WifiSettings
from appliance.update.factory_reset import DeviceFactoryReset
from appliance.update.releases import (
    Layout,
    Pending,
    current_version,
    mark_complete,
    read_pending,
    read_result,
    switch_to,
    write_pending,
)
from drivers.errors import NetworkError
from drivers.network import FakeNetworkManager, StationConfig, station_settings
from tests.context import make_context as shared_make_context
from tests.update.test_update import RecordingControl

DEVICE = "0000008879"


async def eventually(condition: Callable[[], bool], within_s: float = 30.0) -> None:
    """Let the part's threads (self-test, pruning) finish, on a loaded machine too."""
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - the state is written by worker threads
            await asyncio.sleep(0.01)


def make_context(state_dir: Path, clock: FakeClock, settings: Settings) -> RuntimeContext:
    SettingsStore(state_dir / "settings.json").save(settings)
    return shared_make_context(state_dir, clock, settings=settings, device_number=DEVICE)


def fresh_reading(clock: FakeClock) -> GridReading:
    phase = PhaseReading.absent(230.0)
    return GridReading(clock.monotonic(), clock.time(), Source.CT, (phase, phase, phase))


def new_release_pending(layout: Layout) -> None:
    """0.2.0 switched to, unconfirmed, as after an update's restart."""
    release = layout.release("0.2.0")
    (release / "venv").mkdir(parents=True)
    mark_complete(release)
    write_pending(layout, Pending("0.2.0", "0.1.0", boots=1))
    switch_to(layout, "0.2.0")


async def start_part(
    ctx: RuntimeContext, layout: Layout, control: RecordingControl, monkeypatch: pytest.MonkeyPatch
) -> asyncio.Task[None]:
    monkeypatch.setattr(sys, "prefix", str(layout.release("0.2.0") / "venv"))
    return asyncio.create_task(
        run_update_service(ctx, layout=layout, control=control, health_deadline_s=0.2)
    )


async def test_services_registered_and_new_release_confirmed_by_a_fresh_reading(
    layout: Layout, state_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_release_pending(layout)
    ctx = make_context(state_dir, clock, Settings())
    control = RecordingControl()
    task = await start_part(ctx, layout, control, monkeypatch)
    await asyncio.sleep(0)
    ctx.hub.readings.publish(fresh_reading(clock))
    await eventually(
        lambda: (
            "update" in ctx.services and ctx.services["update"].progress().state is UpdateState.DONE
        )
    )

    update: FirmwareUpdateService = ctx.services["update"]
    reset: FactoryResetService = ctx.services["factory_reset"]
    assert isinstance(reset, DeviceFactoryReset)
    assert update.progress().state is UpdateState.DONE
    assert update.progress().message == "updated to 0.2.0"
    assert read_pending(layout) is None
    assert control.calls == []
    guard_program = layout.app_dir / GUARD_PROGRAM
    ran = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-I", str(guard_program), "--root", str(layout.root)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.strip() == "scc-guard: release 0.2.0"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_new_release_without_readings_is_rolled_back(
    layout: Layout, state_dir: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_release_pending(layout)
    ctx = make_context(state_dir, clock, Settings())
    control = RecordingControl()
    task = await start_part(ctx, layout, control, monkeypatch)
    await eventually(lambda: bool(control.calls))
    assert control.calls == ["restart"]
    assert current_version(layout) == "0.1.0"
    result = read_result(layout)
    assert result is not None
    assert result.outcome == "rolled_back"
    assert "no fresh reading" in result.reason
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_stale_readings_do_not_count_as_healthy(clock: FakeClock, state_dir: Path) -> None:
    ctx = make_context(state_dir, clock, Settings())
    ctx.hub.readings.publish(fresh_reading(clock))
    clock.advance(60)
    assert await wait_for_fresh_reading(ctx, 0.05) == ["no fresh reading within 0 s"]


def test_running_release_is_read_from_the_venv_path(layout: Layout) -> None:
    assert running_release(layout, layout.release("0.1.0") / "venv") == "0.1.0"
    assert running_release(layout, Path(sys.prefix)) is None


def test_guard_program_is_standalone(layout: Layout, tmp_path: Path) -> None:
    refresh_guard(layout)
    ran = subprocess.run(
        ["/usr/bin/python3", "-I", str(layout.app_dir / GUARD_PROGRAM), "--root", str(layout.root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert ran.stdout.strip() == "scc-guard: release 0.1.0"


# --- factory reset ------------------------------------------------------------------------------


class BrokenNetwork:
    async def delete_connection(self, name: str) -> None:
        raise NetworkError("nmcli: NetworkManager is not running")


async def test_factory_reset_restores_defaults_keeps_identity_and_release(
    layout: Layout, state_dir: Path, clock: FakeClock
) -> None:
    customised = Settings().with_mode(ChargeMode.parse("capacity:7"))
    customised = customised.with_section(
        "wifi", WifiSettings(ssid="HomeNetwork", password="correct horse", country="NL")
    )
    ctx = make_context(state_dir, clock, customised)
    (state_dir / "device_number").write_text(DEVICE + "\n")
    (state_dir / "update").mkdir()
    (state_dir / "update/last_result.json").write_text("{}")
    (state_dir / "quarter.json").write_text('{"energy_wh": 812}')
    (state_dir / "modbus-log").mkdir()
    network = FakeNetworkManager(home_networks={"HomeNetwork": "correct horse"})
    await network.add_connection(station_settings(StationConfig("HomeNetwork", "correct horse")))
    ctx.services["network"] = network
    control = RecordingControl()
    before_release = current_version(layout)

    reset = DeviceFactoryReset(ctx.settings, state_dir, control, lambda: ctx.services["network"])
    await reset.reset()

    assert ctx.settings.current == Settings()
    assert SettingsStore(state_dir / "settings.json").load() == Settings()
    assert ctx.settings.current.control.charge_mode == Settings().control.charge_mode
    assert network.connections == {}
    assert (state_dir / "device_number").read_text() == DEVICE + "\n"
    assert sorted(await asyncio.to_thread(os.listdir, state_dir)) == [
        "device_number",
        "settings.json",
        "update",
    ]
    assert current_version(layout) == before_release
    assert control.calls == ["restart"]
    assert reset.errors == []


async def test_factory_reset_still_resets_and_restarts_when_wifi_cannot_be_removed(
    state_dir: Path, clock: FakeClock
) -> None:
    ctx = make_context(state_dir, clock, Settings().with_mode(ChargeMode.parse("eco")))
    control = RecordingControl()
    reset = DeviceFactoryReset(ctx.settings, state_dir, control, BrokenNetwork)
    await reset.reset()
    assert ctx.settings.current == Settings()
    assert control.calls == ["restart"]
    assert len(reset.errors) == 2
    assert "NetworkManager is not running" in reset.errors[0]
