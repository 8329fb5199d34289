"""The three front-panel buttons through gpiozero: debounced edges with timestamps, nothing more.

Each button is wired to ground with the Pi's pull-up (pressed = low). gpiozero debounces in its
own edge thread (`bounce_time`) and calls back on that thread; the listener gets
`(name, pressed, monotonic_seconds)` and must hand it to its own loop (the runtime uses
`call_soon_threadsafe`). Decoding into short and long presses is the panel's pure job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from gpiozero import Button as GpioButton
from gpiozero.exc import GPIOZeroError

from drivers.errors import BusError

DEFAULT_BOUNCE_S = 0.03  # tactile switches settle within a few ms; 30 ms leaves margin

EdgeListener = Callable[[str, bool, float], None]


class PanelButtons:
    """gpiozero buttons by name (e.g. `left`, `ok`, `right`) reporting every debounced edge."""

    def __init__(
        self,
        pins: Mapping[str, int],
        listener: EdgeListener,
        *,
        pin_factory: Any = None,
        bounce_s: float = DEFAULT_BOUNCE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._listener = listener
        self._monotonic = monotonic
        self._buttons: dict[str, GpioButton] = {}
        try:
            for name, pin in pins.items():
                button = GpioButton(
                    pin, pull_up=True, bounce_time=bounce_s, pin_factory=pin_factory
                )
                button.when_pressed = self._callback(name, pressed=True)
                button.when_released = self._callback(name, pressed=False)
                self._buttons[name] = button
        except GPIOZeroError as exc:
            self.close()
            raise BusError(f"cannot set up the panel buttons: {exc}") from exc

    def _callback(self, name: str, *, pressed: bool) -> Callable[[], None]:
        def on_edge() -> None:
            self._listener(name, pressed, self._monotonic())

        return on_edge

    def is_pressed(self, name: str) -> bool:
        return bool(self._buttons[name].is_pressed)

    def close(self) -> None:
        for button in self._buttons.values():
            button.close()
        self._buttons.clear()
