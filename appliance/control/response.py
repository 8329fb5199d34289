"""How far the charger moves its current per ampere of headroom we report, learned by testing.

Both common load-balancing behaviours act like an integrator on the headroom the meter shows:
one that subtracts its own current moves the whole headroom in one poll, one that integrates
moves a share of it (`docs/control.md`). Knowing that share lets the EV estimate follow what the
charger was told even where the grid cannot show it (a PV ramp hides the EV's answer), and lets
the controller ask for a change in one poll from either kind.

A test is two polls on a quiet grid: `TEST_A` of headroom, then as much the other way, so the
charger ends where it began. The two answers are equal and opposite when nothing else moved;
their mean size per ampere is one sample. No answer to the first poll means the EV does not
take more (limited, or not drawing at all), which the EV tracker then probes.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import deque
from dataclasses import dataclass

TEST_A = 1.0
# A test needs the grid this quiet (per-phase step not explained by the EV) for `QUIET_S` in a row.
QUIET_A = 0.1
QUIET_S = 3
# Tests come every `SPACING_S` until `MIN_SAMPLES` agree, then every `RETEST_S`.
SAMPLES = 5
MIN_SAMPLES = 3
SPACING_S = 20.0
RETEST_S = 600.0
# Answers below `MIN_GAIN` per ampere are no answer; above `MAX_GAIN` something else moved.
MIN_GAIN = 0.25
MAX_GAIN = 1.3


class Verdict(enum.Enum):
    SAMPLE = "sample"  # a clean answer was added
    NO_ANSWER = "no answer"  # the EV took no more: limited, or not drawing
    DISTURBED = "disturbed"  # the grid moved meanwhile: nothing learned


@dataclass(frozen=True, slots=True)
class _Test:
    started: float
    rise: float | None = None  # the EV-phase step answering the first poll


class ChargerResponse:
    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._gain: float | None = None
        self._test: _Test | None = None
        self._last_test_at = -math.inf

    @property
    def known(self) -> bool:
        return self._gain is not None

    @property
    def gain(self) -> float:
        """Move per ampere of headroom in one poll (1 until tests have told)."""
        return 1.0 if self._gain is None else self._gain

    @property
    def testing(self) -> bool:
        return self._test is not None

    @property
    def test_headroom_a(self) -> float:
        """The headroom to report during a running test (first poll up, second poll down)."""
        return TEST_A if self._test is None or self._test.rise is None else -TEST_A

    def due(self, now: float, quiet_s: int) -> bool:
        every = RETEST_S if len(self._samples) >= MIN_SAMPLES else SPACING_S
        return self._test is None and quiet_s >= QUIET_S and now - self._last_test_at >= every

    def start(self, now: float) -> None:
        self._test = _Test(now)

    def cancel(self) -> None:
        self._test = None

    def answer(self, step_a: float, now: float) -> Verdict | None:
        """The EV-phase grid step in the second after a test poll; an outcome once complete."""
        test = self._test
        if test is None:
            return None
        if test.rise is None:
            if step_a < MIN_GAIN * TEST_A:
                # It took no more: no second poll (it would only move a limited EV down).
                self._test = None
                self._last_test_at = now
                return Verdict.NO_ANSWER
            self._test = _Test(test.started, step_a)
            return None
        self._test = None
        self._last_test_at = now
        if abs(test.rise + step_a) > QUIET_A:
            return Verdict.DISTURBED
        sample = (test.rise - step_a) / (2.0 * TEST_A)
        if sample > MAX_GAIN:
            return Verdict.DISTURBED
        self._samples.append(sample)
        if len(self._samples) >= MIN_SAMPLES:
            self._gain = statistics.median(self._samples)
        return Verdict.SAMPLE
