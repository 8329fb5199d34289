"""Button decoding: timestamped edges in, short presses and hold-threshold events out (pure).

The long-press thresholds of the SCC manual (5 s: commissioning and firmware update; 10 s:
factory reset) fire while the button is still down, the moment the hold reaches them (SPEC).
Time is an input (`at`, `now`): the decoder never reads a clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

HOLD_THRESHOLDS_S: tuple[float, ...] = (5.0, 10.0)
SETTLE_S = 0.03  # contact bounce of tactile switches dies out within a few milliseconds
_TIME_EPSILON_S = 1e-6  # timestamps are float sums; a deadline met to the microsecond is met


class Button(enum.StrEnum):
    LEFT = "left"
    OK = "ok"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class Edge:
    """A debounced level change of one button: pressed (down) or released (up)."""

    button: Button
    pressed: bool
    at: float  # monotonic seconds


@dataclass(frozen=True, slots=True)
class Pressed:
    """The button went down (the menu shows hold progress from here)."""

    button: Button
    at: float


@dataclass(frozen=True, slots=True)
class ShortPress:
    """Released before the first hold threshold."""

    button: Button
    at: float


@dataclass(frozen=True, slots=True)
class HoldReached:
    """The button has been held for `threshold_s`; it is still down."""

    button: Button
    threshold_s: float
    at: float


@dataclass(frozen=True, slots=True)
class LongRelease:
    """Released after at least one threshold was reached."""

    button: Button
    held_s: float
    at: float


ButtonEvent = Pressed | ShortPress | HoldReached | LongRelease


@dataclass(frozen=True, slots=True)
class Hold:
    """A button that is down right now and for how long."""

    button: Button
    held_s: float


class ButtonDecoder:
    """Turns edges of the three buttons into events; each button is decoded on its own.

    Contact bounce is filtered here too, on the edges' own timestamps (gpiozero's
    `bounce_time` does it in the GPIO library on a Pi, but not every pin backend does): a
    press counts from its first edge, and a release only once the contact has stayed open for
    `settle_s`; a bounce back within that time continues the same press.
    """

    def __init__(
        self, thresholds_s: tuple[float, ...] = HOLD_THRESHOLDS_S, settle_s: float = SETTLE_S
    ) -> None:
        if not thresholds_s or list(thresholds_s) != sorted(set(thresholds_s)):
            raise ValueError("hold thresholds must be distinct and ascending")
        if settle_s < 0:
            raise ValueError("settle time cannot be negative")
        self._thresholds = thresholds_s
        self._settle_s = settle_s
        self._down_since: dict[Button, float] = {}
        self._reached: dict[Button, int] = {}  # how many thresholds fired in this hold
        self._released_at: dict[Button, float] = {}  # an open contact still settling

    def feed(self, edge: Edge) -> list[ButtonEvent]:
        """Events caused by one edge (thresholds passed before it are reported first)."""
        events = self._settle(edge.at)
        button = edge.button
        if edge.pressed:
            if button in self._released_at:
                del self._released_at[button]  # bounced closed again: the same press goes on
                return events
            if button in self._down_since:
                return events  # a repeated "down" (missed release) is not a new press
            self._down_since[button] = edge.at
            self._reached[button] = 0
            return [*events, Pressed(button, edge.at)]
        if button not in self._down_since or button in self._released_at:
            return events  # a release without a press (held at start-up), or a repeat
        events += self._thresholds_due(button, edge.at)
        self._released_at[button] = edge.at
        return events + self._settle(edge.at)

    def tick(self, now: float) -> list[ButtonEvent]:
        """Settled releases and threshold events for buttons still held at `now`."""
        events = self._settle(now)
        for button in list(self._down_since):
            if button not in self._released_at:
                events.extend(self._thresholds_due(button, now))
        return events

    def any_down(self) -> bool:
        return any(button not in self._released_at for button in self._down_since)

    def holds(self, now: float) -> list[Hold]:
        return [
            Hold(button, now - since)
            for button, since in self._down_since.items()
            if button not in self._released_at
        ]

    def hold_of(self, button: Button, now: float) -> float | None:
        """Seconds `button` has been held at `now`, or None when it is up."""
        since = self._down_since.get(button)
        if since is None or button in self._released_at:
            return None
        return now - since

    def next_threshold_at(self) -> float | None:
        """When the decoder next has something to say (a threshold or a settled release)."""
        due = [at + self._settle_s for at in self._released_at.values()]
        due += [
            since + self._thresholds[self._reached[button]]
            for button, since in self._down_since.items()
            if button not in self._released_at and self._reached[button] < len(self._thresholds)
        ]
        return min(due, default=None)

    def _settle(self, now: float) -> list[ButtonEvent]:
        events: list[ButtonEvent] = []
        for button, released_at in sorted(self._released_at.items(), key=lambda item: item[1]):
            if now - released_at < self._settle_s - _TIME_EPSILON_S:
                continue
            del self._released_at[button]
            since = self._down_since.pop(button)
            if self._reached.pop(button):
                events.append(LongRelease(button, released_at - since, released_at))
            else:
                events.append(ShortPress(button, released_at))
        return events

    def _thresholds_due(self, button: Button, now: float) -> list[HoldReached]:
        since = self._down_since[button]
        out: list[HoldReached] = []
        while self._reached[button] < len(self._thresholds):
            threshold = self._thresholds[self._reached[button]]
            if now - since < threshold - _TIME_EPSILON_S:
                break
            self._reached[button] += 1
            out.append(HoldReached(button, threshold, since + threshold))
        return out
