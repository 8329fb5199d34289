"""The P1 request line: a GPIO input behind the HAT's opto-coupler (high = data requested)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpiozero import DigitalInputDevice

Listener = Callable[[bool], None]


class RequestLine:
    """The charger's request line, shared by the telegram sender and the P1 LED.

    Listeners are called with the new level on every edge, from gpiozero's thread.
    """

    def __init__(self, pin: int, pin_factory: Any = None) -> None:
        # The opto pulls the pin high while the charger drives request; a pull-down keeps an
        # unplugged cable reading low.
        self._device = DigitalInputDevice(pin, pull_up=False, pin_factory=pin_factory)
        self._listeners: list[Listener] = []
        self._device.when_activated = lambda: self._notify(True)
        self._device.when_deactivated = lambda: self._notify(False)
        self.pin = pin

    def is_high(self) -> bool:
        return bool(self._device.is_active)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, level: bool) -> None:
        for listener in list(self._listeners):
            listener(level)

    def close(self) -> None:
        self._device.close()
