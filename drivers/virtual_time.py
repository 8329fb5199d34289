"""Virtual time for fake hardware: a clock that moves only when the simulated bus or chip says so.

A fake chip owns one `VirtualClock`; the driver under test is given `clock.monotonic` as its
clock, so one simulated second of conversions costs only the CPU time of computing them.
"""

from __future__ import annotations


class VirtualClock:
    """Monotonic seconds that advance by bus transfers and waits, never by themselves."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._now = start_s

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("virtual time cannot run backwards")
        self._now += seconds

    def advance_to(self, instant_s: float) -> None:
        """Move to `instant_s` if it lies ahead; an instant already past leaves the clock as is."""
        self._now = max(self._now, instant_s)
