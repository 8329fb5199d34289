"""When to start a telegram on the serial port: a pure state machine, times passed in.

Rules (SPEC, P1 sending): a rising request edge starts a telegram at once; while request stays
high, every new measurement window starts one (so telegrams follow the 1-s windows and inherit
their monotonic cadence: no drift); "send without request" acts as a request held high. If
windows stop arriving, the scheduler keeps the 1-s cadence from its own clock, `grace_s` after
each expected window, so the charger is never left without telegrams (the telegram then carries
the newest reading, or the fail-safe once that is stale). A drop of request stops the telegram
in flight (`may_continue`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from appliance.grid import Fault, GridReading


class Trigger(enum.StrEnum):
    REQUEST_EDGE = "request_edge"
    WINDOW = "window"
    OWN_CLOCK = "own_clock"


@dataclass
class TelegramScheduler:
    send_without_request: bool = False
    period_s: float = 1.0
    grace_s: float = 0.25
    request_high: bool = False
    last_start_s: float | None = None  # when the last telegram started (or its clock slot)

    @property
    def active(self) -> bool:
        return self.request_high or self.send_without_request

    def may_continue(self) -> bool:
        """Checked between chunks of a telegram in flight: False aborts it."""
        return self.active

    def on_start(self, request_high: bool, now: float) -> Trigger | None:
        """The port just opened: a request already high counts as a fresh rising edge (a
        charger that holds request high must not wait for a window that may never come)."""
        self.request_high = request_high
        if not self.active:
            return None
        self.last_start_s = now
        return Trigger.REQUEST_EDGE

    def on_request(self, high: bool, now: float) -> Trigger | None:
        rising = high and not self.request_high
        self.request_high = high
        if not rising:
            return None
        self.last_start_s = now
        return Trigger.REQUEST_EDGE

    def on_window(self, now: float) -> Trigger | None:
        if not self.active:
            return None
        self.last_start_s = now
        return Trigger.WINDOW

    def deadline(self) -> float | None:
        """When `on_timer` must be called if no window arrives first (None: nothing due)."""
        if not self.active or self.last_start_s is None:
            return None
        return self.last_start_s + self.period_s + self.grace_s

    def on_timer(self, now: float) -> Trigger | None:
        due = self.deadline()
        if due is None or now < due:
            return None
        assert self.last_start_s is not None
        # Advance on the grid of the last telegram, skipping slots a stalled loop missed.
        missed = math.floor((now - due) / self.period_s)
        self.last_start_s += (missed + 1) * self.period_s
        return Trigger.OWN_CLOCK


def fresh_or_failsafe(reading: GridReading, now: float, stale_after_s: float) -> GridReading:
    """The reading to send: itself while fresh, flagged NO_DATA (the fail-safe) once stale."""
    if reading.age_s(now) <= stale_after_s:
        return reading
    return replace(reading, faults=reading.faults | {Fault.NO_DATA})
