"""The front panel at run time: buttons in, menu state machine, screens out, effects carried out.

`run_panel(ctx)` opens the OLED (luma's dummy device in simulation) and the buttons (gpiozero,
on `ctx.pin_factory`), publishes a `PanelController` as `ctx.services["panel"]` for the web
mirror, and redraws at least once per second and on every button event. gpiozero calls back
on its own thread; edges are handed to the loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PIL import Image
from pydantic import ValidationError

from appliance.errors import ApplianceError
from appliance.modes import ChargeMode, available_modes
from appliance.panel.buttons import Button, Edge
from appliance.panel.content import (
    PanelData,
    collect_versions,
    settings_rows,
    settings_summary,
)
from appliance.panel.leds import LedStates
from appliance.panel.menu import (
    Effect,
    FactoryReset,
    Menu,
    MenuInputs,
    SelectMode,
    StartCommissioning,
    StartUpdate,
    StopCommissioning,
)
from appliance.panel.menu_tree import Feature, Screen
from appliance.panel.screens import render
from appliance.runtime.context import RuntimeContext
from appliance.services import (
    CommissioningService,
    CommissioningStatus,
    FactoryResetService,
    FirmwareUpdateService,
    UpdateProgress,
)
from drivers.buttons import PanelButtons
from drivers.display import Display, open_dummy, open_i2c
from drivers.errors import DriverError

log = logging.getLogger(__name__)

SERVICE_NAME = "panel"
SERVICE_KEYS = {
    Feature.COMMISSIONING: "commissioning",
    Feature.UPDATE: "update",
    Feature.FACTORY_RESET: "factory_reset",
}
REFRESH_S = 1.0  # live values on screen at least once per second
HOLD_REFRESH_S = 0.1  # the hold bar moves smoothly while a button is down


class PanelController:
    """The panel's state and its effects; also the API of the virtual front panel."""

    def __init__(self, ctx: RuntimeContext) -> None:
        self._ctx = ctx
        self._versions = collect_versions(ctx.identity.device_number)
        self._menu = Menu(self._inputs(), ctx.clock.monotonic())
        self._action_error = ""
        self._screen_of_error = Screen.HOME
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._image = self._compose()
        self._sequence = 1
        self._png_cache: tuple[int, bytes] | None = None

    # --- what the web mirror and tests read -----------------------------------------------
    @property
    def screen(self) -> Screen:
        return self._menu.screen

    @property
    def frame_sequence(self) -> int:
        """Increases with every new frame (the web page asks for a picture only then)."""
        return self._sequence

    def frame(self) -> Image.Image:
        return self._image.copy()

    def frame_png(self) -> bytes:
        if self._png_cache is None or self._png_cache[0] != self._sequence:
            buffer = io.BytesIO()
            self._image.save(buffer, format="PNG")
            self._png_cache = (self._sequence, buffer.getvalue())
        return self._png_cache[1]

    def led_states(self) -> dict[str, bool] | None:
        """The LED states when the LED part runs (`ctx.services["leds"].states()`)."""
        leds = self._ctx.services.get("leds")
        if leds is None:
            return None
        states: LedStates = leds.states()
        return {"pwr": states.pwr, "cs": states.cs, "p1": states.p1}

    # --- buttons --------------------------------------------------------------------------
    def edge(self, edge: Edge) -> None:
        """A debounced button edge, on the loop's thread."""
        self._apply(self._menu.edge(edge, self._inputs()))
        self.refresh()
        self._wake.set()  # show it now, and wait for the settle or threshold deadline

    def threadsafe_listener(
        self, loop: asyncio.AbstractEventLoop
    ) -> Callable[[str, bool, float], None]:
        """A gpiozero-thread callback that hands each edge to `loop`."""

        def listener(name: str, pressed: bool, at: float) -> None:
            loop.call_soon_threadsafe(self.edge, Edge(Button(name), pressed, at))

        return listener

    def button_down(self, button: Button) -> None:
        self.edge(Edge(button, True, self._ctx.clock.monotonic()))

    def button_up(self, button: Button) -> None:
        self.edge(Edge(button, False, self._ctx.clock.monotonic()))

    def press(self, button: Button) -> None:
        """A short press (down and up at once)."""
        self.button_down(button)
        self.button_up(button)

    def hold(self, button: Button, seconds: float) -> None:
        """Press now and release after `seconds`; the long-press action fires while held."""
        self.button_down(button)
        asyncio.get_running_loop().call_later(seconds, self.button_up, button)

    # --- time -----------------------------------------------------------------------------
    def tick(self) -> None:
        """Thresholds, idle rule and service states at the clock's now; then a new frame."""
        self._apply(self._menu.tick(self._ctx.clock.monotonic(), self._inputs()))
        self.refresh()

    def refresh(self) -> None:
        """Compose a new frame from the menu and the newest data."""
        if self._menu.screen is not self._screen_of_error:
            self._action_error = ""
        self._image = self._compose()
        self._sequence += 1

    def seconds_to_next_tick(self) -> float:
        now = self._ctx.clock.monotonic()
        step = HOLD_REFRESH_S if self._menu.any_button_down() else REFRESH_S
        return max(0.0, min(step, self._menu.next_deadline(now) - now))

    async def run(self, display: Display) -> None:
        """Redraw until cancelled; wakes on buttons, new readings and settings changes."""
        watchers = [
            asyncio.create_task(self._wake_on(self._ctx.hub.readings.next)),
            asyncio.create_task(self._wake_on(self._ctx.settings.changes.next)),
        ]
        shown = 0
        try:
            while True:
                self._wake.clear()
                self.tick()
                if self._sequence != shown:
                    shown = self._sequence
                    await asyncio.to_thread(display.show, self._image)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.seconds_to_next_tick()):
                        await self._wake.wait()
        finally:
            for task in (*watchers, *self._tasks):
                task.cancel()
            for task in (*watchers, *self._tasks):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _wake_on(self, next_value: Callable[[], Coroutine[Any, Any, object]]) -> None:
        while True:
            await next_value()
            self._wake.set()

    # --- internals ------------------------------------------------------------------------
    def _service(self, feature: Feature) -> Any:
        return self._ctx.services.get(SERVICE_KEYS[feature])

    def _commissioning_status(self) -> CommissioningStatus | None:
        service: CommissioningService | None = self._service(Feature.COMMISSIONING)
        return None if service is None else service.status()

    def _update_progress(self) -> UpdateProgress | None:
        service: FirmwareUpdateService | None = self._service(Feature.UPDATE)
        return None if service is None else service.progress()

    def _inputs(self) -> MenuInputs:
        settings = self._ctx.settings.current
        commissioning = self._commissioning_status()
        update = self._update_progress()
        return MenuInputs(
            modes=available_modes(settings.grid.phases, settings.grid.max_charge_current_a),
            current_mode=settings.control.charge_mode,
            settings_count=len(settings_rows(settings)),
            features=frozenset(f for f in Feature if self._service(f) is not None),
            commissioning_active=commissioning is not None and commissioning.active,
            update_running=update is not None and update.running,
        )

    def _data(self) -> PanelData:
        settings = self._ctx.settings.current
        reading = self._ctx.hub.readings.latest
        now = self._ctx.clock.monotonic()
        return PanelData(
            mode=settings.control.charge_mode,
            modes=available_modes(settings.grid.phases, settings.grid.max_charge_current_a),
            reading=reading,
            reported=self._ctx.hub.reported.latest,
            reading_age_s=None if reading is None else reading.age_s(now),
            stale_after_s=settings.metering.stale_after_s,
            versions=self._versions,
            settings_rows=settings_rows(settings),
            settings_summary=settings_summary(settings),
            commissioning=self._commissioning_status(),
            update=self._update_progress(),
            factory_reset_available=self._service(Feature.FACTORY_RESET) is not None,
            action_error=self._action_error,
        )

    def _compose(self) -> Image.Image:
        return render(self._menu.view(self._ctx.clock.monotonic()), self._data())

    def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SelectMode):
                self._select_mode(effect.mode)
            elif isinstance(effect, StartCommissioning):
                service: Any = self._service(Feature.COMMISSIONING)
                self._spawn("commissioning", service.start)
            elif isinstance(effect, StopCommissioning):
                service = self._service(Feature.COMMISSIONING)
                if service is not None:
                    self._spawn("commissioning stop", service.stop)
            elif isinstance(effect, StartUpdate):
                update: FirmwareUpdateService = self._service(Feature.UPDATE)
                self._spawn("firmware update", update.start)
            elif isinstance(effect, FactoryReset):
                reset: FactoryResetService = self._service(Feature.FACTORY_RESET)
                self._spawn("factory reset", reset.reset)

    def _select_mode(self, mode: ChargeMode) -> None:
        """Takes effect at once (the controller follows `settings.changes`) and persists."""
        holder = self._ctx.settings
        if holder.current.control.charge_mode == mode:
            return
        try:
            holder.update(holder.current.with_mode(mode))
        except (ValidationError, ApplianceError, OSError) as exc:
            log.error("charge mode %s not saved: %s", mode.label, exc)
            self._fail(f"mode not saved: {exc}")
        else:
            log.info("charge mode set to %s from the front panel", mode.label)

    def _spawn(self, what: str, call: Callable[[], Coroutine[Any, Any, None]]) -> None:
        screen = self._menu.screen

        async def guarded() -> None:
            try:
                await call()
            except Exception as exc:  # another part's failure: shown on the OLED and logged
                log.exception("%s failed", what)
                if self._menu.screen is screen:
                    self._fail(str(exc))
                self._wake.set()

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail(self, message: str) -> None:
        self._action_error = message
        self._screen_of_error = self._menu.screen


async def run_panel(ctx: RuntimeContext, display: Display | None = None) -> None:
    """Run the front panel until cancelled (OLED on I2C on a Pi, luma's dummy in simulation)."""
    # Published before the first await, so parts started after this one find it at once.
    controller = PanelController(ctx)
    ctx.services[SERVICE_NAME] = controller
    if display is None:
        if ctx.simulate:
            display = open_dummy()
        else:
            try:
                display = await asyncio.to_thread(
                    open_i2c, ctx.pinmap.i2c_bus, ctx.pinmap.oled_address
                )
            except BaseException:
                ctx.services.pop(SERVICE_NAME, None)
                raise
    pins = {
        Button.LEFT.value: ctx.pinmap.button_left,
        Button.OK.value: ctx.pinmap.button_ok,
        Button.RIGHT.value: ctx.pinmap.button_right,
    }
    buttons = PanelButtons(
        pins,
        controller.threadsafe_listener(asyncio.get_running_loop()),
        pin_factory=ctx.pin_factory,
        monotonic=ctx.clock.monotonic,
    )
    try:
        await controller.run(display)
    finally:
        buttons.close()
        ctx.services.pop(SERVICE_NAME, None)
        with contextlib.suppress(DriverError):
            await asyncio.to_thread(display.close)
