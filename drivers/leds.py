"""The HAT's two software-driven LEDs (CS green, P1 red); PWR (yellow) is wired to the supply."""

from __future__ import annotations

from typing import Any

from gpiozero import LED


class StatusLeds:
    def __init__(self, cs_pin: int, p1_pin: int, pin_factory: Any = None) -> None:
        self._cs = LED(cs_pin, pin_factory=pin_factory)
        self._p1 = LED(p1_pin, pin_factory=pin_factory)

    def set(self, cs: bool, p1: bool) -> None:
        self._cs.value = cs
        self._p1.value = p1

    def read(self) -> tuple[bool, bool]:
        return bool(self._cs.value), bool(self._p1.value)

    def close(self) -> None:
        self._cs.close()
        self._p1.close()
