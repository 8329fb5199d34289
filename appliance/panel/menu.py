"""The front panel's menu: a pure state machine driven by button events and the clock.

It reads the menu tree (`menu_tree.py`), takes time as an input (`now`), and answers with
effects (select a mode, start/stop commissioning, start an update, factory reset) that the
runtime carries out; it never calls a service itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.modes import ChargeMode
from appliance.panel.buttons import (
    Button,
    ButtonDecoder,
    ButtonEvent,
    Edge,
    HoldReached,
    LongRelease,
    Pressed,
    ShortPress,
)
from appliance.panel.menu_tree import (
    MENU_TREE,
    RING,
    ArrowAction,
    Feature,
    LongAction,
    OkAction,
    Screen,
    ScreenSpec,
)

IDLE_TIMEOUT_S = 60.0


# --- effects: what the runtime must do ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SelectMode:
    mode: ChargeMode


@dataclass(frozen=True, slots=True)
class StartCommissioning:
    pass


@dataclass(frozen=True, slots=True)
class StopCommissioning:
    pass


@dataclass(frozen=True, slots=True)
class StartUpdate:
    pass


@dataclass(frozen=True, slots=True)
class FactoryReset:
    pass


Effect = SelectMode | StartCommissioning | StopCommissioning | StartUpdate | FactoryReset


@dataclass(frozen=True, slots=True)
class MenuInputs:
    """What the menu needs to know about the rest of the appliance, at each step."""

    modes: tuple[ChargeMode, ...]  # appliance.modes.available_modes(...) for the settings
    current_mode: ChargeMode
    settings_count: int  # rows of the settings list
    features: frozenset[Feature] = frozenset(Feature)
    commissioning_active: bool = False
    update_running: bool = False


@dataclass(frozen=True, slots=True)
class HoldProgress:
    """An OK hold towards a screen's long-press action, for the progress bar."""

    held_s: float
    threshold_s: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.held_s / self.threshold_s)


@dataclass(frozen=True, slots=True)
class MenuView:
    """Everything the renderer needs from the menu."""

    screen: Screen
    mode_index: int
    settings_index: int
    hold: HoldProgress | None


class Menu:
    """Menu state; feed it edges and ticks, read `view()`, carry out the returned effects."""

    def __init__(self, inputs: MenuInputs, now: float) -> None:
        self._decoder = ButtonDecoder()
        self._inputs = inputs
        self.screen = Screen.HOME
        self.mode_index = 0
        self.settings_index = 0
        self._last_activity = now
        self._consumed: set[Button] = set()  # buttons whose current hold fired an action
        self._commissioning_seen_active = False
        self._update_was_running = inputs.update_running

    @property
    def spec(self) -> ScreenSpec:
        return MENU_TREE[self.screen]

    # --- inputs -----------------------------------------------------------------------------
    def edge(self, edge: Edge, inputs: MenuInputs) -> list[Effect]:
        """A debounced button edge (pressed or released) with its timestamp."""
        self._observe(inputs, edge.at)
        self._last_activity = edge.at
        effects: list[Effect] = []
        for event in self._decoder.feed(edge):
            effects.extend(self._on_event(event))
        return effects

    def tick(self, now: float, inputs: MenuInputs) -> list[Effect]:
        """Time passes: hold thresholds, the idle rule, services that ended on their own."""
        self._observe(inputs, now)
        effects: list[Effect] = []
        for event in self._decoder.tick(now):
            effects.extend(self._on_event(event))
        if self._idle_applies() and now - self._last_activity >= IDLE_TIMEOUT_S:
            self._go(Screen.HOME)
        return effects

    def next_deadline(self, now: float) -> float:
        """The latest time the next `tick` is due (a threshold or the idle timeout)."""
        deadlines = [self._last_activity + IDLE_TIMEOUT_S]
        threshold = self._decoder.next_threshold_at()
        if threshold is not None:
            deadlines.append(threshold)
        return max(now, min(deadlines))

    def any_button_down(self) -> bool:
        return self._decoder.any_down()

    def view(self, now: float) -> MenuView:
        return MenuView(self.screen, self.mode_index, self.settings_index, self._hold(now))

    # --- internals ----------------------------------------------------------------------------
    def _observe(self, inputs: MenuInputs, now: float) -> None:
        self._inputs = inputs
        self.mode_index = min(self.mode_index, max(len(inputs.modes) - 1, 0))
        self.settings_index = min(self.settings_index, max(inputs.settings_count - 1, 0))
        if self.screen is Screen.COMMISSIONING_ACTIVE:
            if inputs.commissioning_active:
                self._commissioning_seen_active = True
            elif self._commissioning_seen_active:
                # The service ended it (no station within 5 minutes): back to the home screen.
                self._go(Screen.HOME)
        if self._update_was_running and not inputs.update_running:
            self._last_activity = now  # the result stays on screen for a full idle period
        self._update_was_running = inputs.update_running

    def _idle_applies(self) -> bool:
        if self._inputs.update_running:
            return False
        if self.screen is Screen.COMMISSIONING_ACTIVE:
            # Only a running access point holds the screen; a failed start times out as usual.
            return not self._inputs.commissioning_active
        return self.spec.idle_returns_home and self.screen is not Screen.HOME

    def _hold(self, now: float) -> HoldProgress | None:
        long_press = self.spec.long_press
        if long_press is None or long_press.needs not in self._inputs.features:
            return None
        if Button.OK in self._consumed:
            return None
        held = self._decoder.hold_of(Button.OK, now)
        if held is None:
            return None
        return HoldProgress(held, long_press.threshold_s)

    def _buttons_locked(self) -> bool:
        return self.screen is Screen.UPDATE_RUNNING and self._inputs.update_running

    def _on_event(self, event: ButtonEvent) -> list[Effect]:
        if isinstance(event, Pressed):
            self._consumed.discard(event.button)
            return []
        if self._buttons_locked():
            if not isinstance(event, HoldReached):
                self._consumed.discard(event.button)
            return []
        if isinstance(event, HoldReached):
            return self._on_hold(event)
        if event.button in self._consumed:
            self._consumed.discard(event.button)
            return []  # the release that ends a hold which already fired its action
        assert isinstance(event, ShortPress | LongRelease)
        # A release before the screen's threshold is a short press ("less than 5/10 s").
        return self._on_short(event.button)

    def _on_hold(self, event: HoldReached) -> list[Effect]:
        long_press = self.spec.long_press
        if (
            event.button is not Button.OK
            or event.button in self._consumed
            or long_press is None
            or long_press.threshold_s != event.threshold_s
            or long_press.needs not in self._inputs.features
        ):
            return []
        self._consumed.add(Button.OK)
        if long_press.action is LongAction.START_COMMISSIONING:
            self._commissioning_seen_active = False
            self._go(Screen.COMMISSIONING_ACTIVE)
            return [StartCommissioning()]
        if long_press.action is LongAction.START_UPDATE:
            self._go(Screen.UPDATE_RUNNING)
            return [StartUpdate()]
        if long_press.action is LongAction.ASK_RESET_CONFIRMATION:
            self._go(Screen.FACTORY_RESET_CONFIRM)
            return []
        self._go(Screen.RESETTING)
        return [FactoryReset()]

    def _on_short(self, button: Button) -> list[Effect]:
        spec = self.spec
        if button is Button.OK:
            return self._on_ok(spec.ok)
        step = 1 if button is Button.RIGHT else -1
        if spec.arrows is ArrowAction.SCROLL:
            self._scroll(step)
            return []
        if spec.arrows is ArrowAction.NONE:
            return []
        effects: list[Effect] = []
        if spec.arrows is ArrowAction.STOP_AND_RING:
            effects.append(StopCommissioning())
        position = RING.index(spec.ring_position)
        self._go(RING[(position + step) % len(RING)])
        return effects

    def _on_ok(self, action: OkAction) -> list[Effect]:
        if action is OkAction.OPEN_MODE_LIST:
            modes = self._inputs.modes
            current = self._inputs.current_mode
            self.mode_index = modes.index(current) if current in modes else 0
            self._go(Screen.MODE_LIST)
            return []
        if action is OkAction.SELECT_MODE:
            self._go(Screen.HOME)
            if not self._inputs.modes:
                return []
            return [SelectMode(self._inputs.modes[self.mode_index])]
        if action is OkAction.OPEN_SETTINGS_LIST:
            self.settings_index = 0
            self._go(Screen.SETTINGS_LIST)
            return []
        if action is OkAction.STOP_COMMISSIONING:
            self._go(Screen.HOME)
            return [StopCommissioning()]
        if action is OkAction.HOME:
            self._go(Screen.HOME)
        return []

    def _scroll(self, step: int) -> None:
        if self.screen is Screen.MODE_LIST:
            count = len(self._inputs.modes)
            if count:
                self.mode_index = (self.mode_index + step) % count
        elif self._inputs.settings_count:
            self.settings_index = (self.settings_index + step) % self._inputs.settings_count

    def _go(self, screen: Screen) -> None:
        self.screen = screen
