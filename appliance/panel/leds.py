"""LED patterns of the CSP1+ (manual 3.6, SPEC): pure functions of a reading, the request line
and the time.

- CS (green): a 1-s period, on for 25 ms per ampere of ΣIrms(L1..L3), continuously on from
  40 A (25 ms x 40 A = 1 s; the manual's table says 50 A, its text and arithmetic say 40 A);
  off below the no-current threshold, with no CT, or with no valid reading.
- P1 (red): mirrors the request line, so it blinks as a charger toggles request.
- PWR (yellow): wired to the HAT's supply, not software-driven.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from appliance.grid import Fault, GridReading

BLINK_PERIOD_S = 1.0
ON_TIME_PER_AMPERE_S = 0.025
CONTINUOUS_FROM_A = 40.0
NO_CURRENT_BELOW_A = 0.15  # the metering engine's "no direction" floor per phase


@dataclass(frozen=True, slots=True)
class LedStates:
    pwr: bool
    cs: bool
    p1: bool


def sensed_current_a(reading: GridReading | None) -> float:
    """ΣIrms of the phases that have a CT; 0 without a usable reading."""
    if reading is None or not reading.valid:
        return 0.0
    return math.fsum(p.current_a for p in reading.phases if Fault.CT_MISSING not in p.faults)


def cs_on_time_s(total_current_a: float) -> float:
    """How long CS is lit in each 1-s period."""
    if total_current_a < NO_CURRENT_BELOW_A:
        return 0.0
    if total_current_a >= CONTINUOUS_FROM_A:
        return BLINK_PERIOD_S
    return total_current_a * ON_TIME_PER_AMPERE_S


def led_states(reading: GridReading | None, request_high: bool, now: float) -> LedStates:
    """The three LEDs at monotonic time `now`; each period starts on a whole second."""
    on_time = cs_on_time_s(sensed_current_a(reading))
    cs = on_time >= BLINK_PERIOD_S or (now % BLINK_PERIOD_S) < on_time
    return LedStates(pwr=True, cs=cs, p1=request_high)


def next_cs_change(reading: GridReading | None, now: float) -> float | None:
    """When CS next switches if nothing else changes (None: it holds its state)."""
    on_time = cs_on_time_s(sensed_current_a(reading))
    if on_time <= 0.0 or on_time >= BLINK_PERIOD_S:
        return None
    period_start = now - (now % BLINK_PERIOD_S)
    off_at = period_start + on_time
    return off_at if now < off_at else period_start + BLINK_PERIOD_S
