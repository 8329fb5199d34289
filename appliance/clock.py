"""An injectable clock: logic takes time as an input, tests advance it instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never jumps (scheduling, timeouts, ages)."""
        ...

    def time(self) -> float:
        """Unix wall-clock seconds (timestamps shown to people, quarter-hour boundaries)."""
        ...


class SystemClock:
    """The real clocks of the operating system."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class FakeClock:
    """A clock that only moves when told to; both time bases advance together."""

    def __init__(
        self, start_monotonic: float = 1000.0, start_time: float = 1_767_225_600.0
    ) -> None:
        self._monotonic = start_monotonic
        self._offset = start_time - start_monotonic

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._monotonic + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot run backwards")
        self._monotonic += seconds
