"""The panel at run time: effects reach the settings and the services; buttons through gpiozero."""

# The objects under test change state inside calls, which mypy cannot see; its narrowing of
# `x.screen is ...` across those calls is wrong, so those two checks are off here.
# mypy: disable-error-code="comparison-overlap,unreachable"

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from appliance.clock import FakeClock
from appliance.modes import ECO, ECO_PLUS, ChargeMode, ModeKind
from appliance.panel.buttons import SETTLE_S, Button
from appliance.panel.menu_tree import Screen
from appliance.runtime.context import RuntimeContext
from appliance.runtime.panel import PanelController, run_panel
from appliance.services import UpdateProgress, UpdateState
from appliance.settings import Settings, SettingsStore
from drivers.display import open_dummy
from tests.context import make_context
from tests.panel.fakes import (
    FakeCommissioning,
    FakeReset,
    FakeUpdate,
    expected_home,
)


def press(panel: PanelController, clock: FakeClock, button: Button = Button.OK) -> None:
    panel.button_down(button)
    panel.button_up(button)
    clock.advance(SETTLE_S)
    panel.tick()


def hold(panel: PanelController, clock: FakeClock, seconds: float) -> None:
    panel.button_down(Button.OK)
    clock.advance(seconds)
    panel.tick()
    panel.button_up(Button.OK)
    clock.advance(SETTLE_S)
    panel.tick()


def go(panel: PanelController, clock: FakeClock, screen: Screen) -> None:
    while panel.screen is not screen:
        press(panel, clock, Button.RIGHT)


async def settle_tasks() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_selecting_a_mode_applies_at_once_and_persists(
    state_dir: Path, clock: FakeClock
) -> None:
    ctx = make_context(state_dir, clock)
    panel = PanelController(ctx)
    assert ctx.settings.current.control.charge_mode == ECO_PLUS
    press(panel, clock)  # CHANGE
    press(panel, clock, Button.RIGHT)  # ECO
    press(panel, clock)  # select
    assert panel.screen is Screen.HOME
    assert ctx.settings.current.control.charge_mode == ECO  # published to the controller
    assert ctx.settings.changes.sequence == 2
    assert SettingsStore(state_dir / "settings.json").load().control.charge_mode == ECO
    assert panel.frame().tobytes() == expected_home(ctx, ctx.settings.current).tobytes()


async def test_mode_survives_a_restart(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_context(state_dir, clock)
    panel = PanelController(ctx)
    press(panel, clock)
    for _ in range(4):
        press(panel, clock, Button.RIGHT)  # ECO+, ECO, 4, 5, 6 kW
    press(panel, clock)
    restarted = make_context(state_dir, FakeClock())  # a new process reads the file
    assert restarted.settings.current.control.charge_mode == ChargeMode(ModeKind.CAPACITY, 6)
    frame = PanelController(restarted).frame()
    assert frame.tobytes() == expected_home(restarted, restarted.settings.current).tobytes()
    assert frame.tobytes() != expected_home(restarted, Settings()).tobytes()


async def test_commissioning_start_and_stop_call_the_service(
    state_dir: Path, clock: FakeClock
) -> None:
    ctx = make_context(state_dir, clock)
    service = FakeCommissioning()
    ctx.services["commissioning"] = service
    panel = PanelController(ctx)
    go(panel, clock, Screen.COMMISSIONING)
    hold(panel, clock, 5.0)
    await settle_tasks()
    assert service.calls == ["start"]
    panel.tick()
    assert panel.screen is Screen.COMMISSIONING_ACTIVE
    service.station_connects()
    clock.advance(400)  # no idle timeout while commissioning
    panel.tick()
    assert panel.screen is Screen.COMMISSIONING_ACTIVE
    press(panel, clock)
    await settle_tasks()
    assert service.calls == ["start", "stop"]
    assert panel.screen is Screen.HOME


async def test_a_failing_service_is_shown_not_hidden(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_context(state_dir, clock)
    ctx.services["commissioning"] = FakeCommissioning(fail="wlan0 is missing")
    panel = PanelController(ctx)
    go(panel, clock, Screen.COMMISSIONING)
    hold(panel, clock, 5.0)
    before = panel.frame().tobytes()
    await settle_tasks()
    panel.tick()
    assert panel.screen is Screen.COMMISSIONING_ACTIVE
    assert panel.frame().tobytes() != before  # "Failed: wlan0 is missing"
    press(panel, clock)
    assert panel.screen is Screen.HOME


async def test_update_and_reset_call_their_services(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_context(state_dir, clock)
    update, reset = FakeUpdate(), FakeReset()
    ctx.services |= {"update": update, "factory_reset": reset}
    panel = PanelController(ctx)
    go(panel, clock, Screen.FIRMWARE_UPDATE)
    hold(panel, clock, 5.0)
    await settle_tasks()
    assert update.calls == ["start"]
    clock.advance(300)
    panel.tick()
    assert panel.screen is Screen.UPDATE_RUNNING  # running: no idle timeout
    update.state = UpdateProgress(UpdateState.FAILED, 0, "server not reachable")
    panel.tick()
    press(panel, clock)
    assert panel.screen is Screen.HOME
    press(panel, clock, Button.LEFT)
    hold(panel, clock, 10.0)
    assert panel.screen is Screen.FACTORY_RESET_CONFIRM
    hold(panel, clock, 10.0)
    await settle_tasks()
    assert reset.calls == ["reset"]


async def test_absent_services_do_nothing_and_say_so(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_context(state_dir, clock)
    panel = PanelController(ctx)
    for screen in (Screen.COMMISSIONING, Screen.FIRMWARE_UPDATE, Screen.FACTORY_RESET):
        go(panel, clock, screen)
        hold(panel, clock, 10.0)
        assert panel.screen is Screen.HOME


async def run_until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def with_panel(
    ctx: RuntimeContext, body: Callable[[PanelController], Awaitable[None]]
) -> None:
    display = open_dummy()
    task = asyncio.create_task(run_panel(ctx, display))
    try:
        await run_until(lambda: "panel" in ctx.services, "the panel service")
        await body(ctx.services["panel"])
        await run_until(lambda: display.last_frame is not None, "a frame on the OLED")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "panel" not in ctx.services


async def test_gpio_buttons_drive_the_menu(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_context(state_dir, clock)
    factory: MockFactory = ctx.pin_factory

    async def body(panel: PanelController) -> None:
        ok = factory.pin(ctx.pinmap.button_ok)
        ok.drive_low()
        ok.drive_high()
        clock.advance(SETTLE_S)
        await run_until(lambda: panel.screen is Screen.MODE_LIST, "the mode list")
        right = factory.pin(ctx.pinmap.button_right)
        right.drive_low()
        right.drive_high()
        clock.advance(SETTLE_S)
        await asyncio.sleep(0.05)
        ok.drive_low()
        ok.drive_high()
        clock.advance(SETTLE_S)
        await run_until(lambda: panel.screen is Screen.HOME, "home")
        assert ctx.settings.current.control.charge_mode == ECO

    await with_panel(ctx, body)
    factory.reset()


async def test_edges_from_another_thread_reach_the_loop(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_context(state_dir, clock)
    panel = PanelController(ctx)
    listener = panel.threadsafe_listener(asyncio.get_running_loop())

    def gpio_thread() -> None:
        listener("right", True, clock.monotonic())
        listener("right", False, clock.monotonic())

    thread = threading.Thread(target=gpio_thread)
    thread.start()
    thread.join()
    await settle_tasks()
    clock.advance(SETTLE_S)
    panel.tick()
    assert panel.screen is Screen.MEASUREMENTS


async def test_frame_png_follows_the_frames(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_context(state_dir, clock)
    panel = PanelController(ctx)
    first, sequence = panel.frame_png(), panel.frame_sequence
    assert first.startswith(b"\x89PNG")
    press(panel, clock, Button.RIGHT)
    assert panel.frame_sequence > sequence
    assert panel.frame_png() != first
    assert panel.led_states() is None
