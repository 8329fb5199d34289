"""A small driver for the pure menu: presses and holds on an injected clock."""

from __future__ import annotations

from dataclasses import replace

from appliance.clock import FakeClock
from appliance.modes import ChargeMode, available_modes
from appliance.panel.buttons import SETTLE_S, Button, Edge
from appliance.panel.menu import Effect, Menu, MenuInputs
from appliance.panel.menu_tree import Feature, Screen


class MenuDriver:
    def __init__(
        self,
        mode: ChargeMode,
        *,
        features: frozenset[Feature] = frozenset(Feature),
        phases: int = 3,
        max_current_a: int = 32,
    ) -> None:
        self.clock = FakeClock()
        self.inputs = MenuInputs(
            modes=available_modes(phases, max_current_a),
            current_mode=mode,
            settings_count=15,
            features=features,
        )
        self.menu = Menu(self.inputs, self.clock.monotonic())
        self.effects: list[Effect] = []

    @property
    def screen(self) -> Screen:
        return self.menu.screen

    def set(self, **changes: object) -> None:
        self.inputs = replace(self.inputs, **changes)  # type: ignore[arg-type]
        self.tick()

    def down(self, button: Button = Button.OK) -> list[Effect]:
        out = self.menu.edge(Edge(button, True, self.clock.monotonic()), self.inputs)
        self.effects += out
        return out

    def up(self, button: Button = Button.OK) -> list[Effect]:
        """Release, then let the contact settle (the runtime ticks at that deadline)."""
        out = self.menu.edge(Edge(button, False, self.clock.monotonic()), self.inputs)
        self.clock.advance(SETTLE_S)
        out += self.menu.tick(self.clock.monotonic(), self.inputs)
        self.effects += out
        return out

    def tick(self) -> list[Effect]:
        out = self.menu.tick(self.clock.monotonic(), self.inputs)
        self.effects += out
        return out

    def wait(self, seconds: float, step: float = 0.1) -> list[Effect]:
        """Advance the clock in small steps, ticking as the runtime does."""
        out: list[Effect] = []
        start = self.clock.monotonic()
        steps = max(1, round(seconds / step))
        for k in range(1, steps + 1):
            # Absolute targets: summing 0.1 s steps would drift below round numbers.
            target = start + seconds * k / steps
            self.clock.advance(max(0.0, target - self.clock.monotonic()))
            out += self.tick()
        return out

    def press(self, button: Button = Button.OK) -> list[Effect]:
        return self.down(button) + self.up(button)

    def hold(self, seconds: float, button: Button = Button.OK) -> tuple[list[Effect], list[Effect]]:
        """Hold for `seconds`: (effects while held, effects at release)."""
        held = self.down(button)
        self.clock.advance(seconds)
        held += self.tick()
        return held, self.up(button)

    def go(self, screen: Screen) -> None:
        """Walk the ring with `>` from home to a top-level screen."""
        for _ in range(10):
            if self.screen is screen:
                return
            self.press(Button.RIGHT)
        raise AssertionError(f"{screen} not on the ring")
