"""How far the charger moves its current per ampere of headroom we report, learned by testing.

Both common load-balancing behaviours act like an integrator on the headroom the meter shows:
one that subtracts its own current moves the whole headroom in one poll, one that integrates
moves a share of it (`docs/control.md`). Knowing that share lets the EV estimate follow what the
charger was told even where the grid cannot show it (a PV ramp hides the EV's answer), and lets
the controller ask for a change in one poll from either kind.

A test is two polls on a quiet grid: headroom for a move of `TEST_MOVE_A`, then as much the
other way, so the charger ends where it began. The two answers are equal and opposite when
nothing else moved; their mean size per ampere is one sample. The headroom is the move divided
by the response known so far: an integrating charger is given more, so its answer stands as far
above the meter's noise as a subtracting one's (a 0.4 A answer scattered the samples by 30 %).
No answer to the first poll means the EV does not take more (limited, or not drawing at all),
which the EV tracker then probes. Tests that keep failing (a charger that reads the meter less
often than every second) back off.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import deque
from dataclasses import dataclass

# The EV's move a test aims at, and the headroom of the first test (the response unknown).
TEST_MOVE_A = 1.0
# A test needs the grid this quiet (per-phase step not explained by the EV) for `QUIET_S` in a row.
QUIET_A = 0.1
QUIET_S = 3
# Tests come every `SPACING_S` until `MIN_SAMPLES` agree, then every `RETEST_S` (and after a
# test nothing answered: a limited EV, or a charger too slow to answer within a poll). The gain
# is the median of the last `SAMPLES` (about four hours of retests): a charger's response does
# not change, and a gain that wanders between retests breaks what the estimate relies on, that
# the errors of predicted moves up and back down cancel when the EV returns to the floor.
SAMPLES = 25
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
    headroom_a: float  # reported in the first poll, and the other way in the second
    rise: float | None = None  # the EV-phase step answering the first poll


class ChargerResponse:
    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._gain: float | None = None
        self._test: _Test | None = None
        self._next_test_at = -math.inf
        self._disturbed = 0  # tests in a row that something else disturbed

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
        test = self._test
        if test is None:
            return self._next_headroom()
        return test.headroom_a if test.rise is None else -test.headroom_a

    def _next_headroom(self) -> float:
        """Headroom for a `TEST_MOVE_A` move, by the response so far (1 A before any sample)."""
        if not self._samples:
            return TEST_MOVE_A
        return TEST_MOVE_A / min(max(statistics.median(self._samples), MIN_GAIN), 1.0)

    def due(self, now: float, quiet_s: int) -> bool:
        return self._test is None and quiet_s >= QUIET_S and now >= self._next_test_at

    def start(self) -> None:
        self._test = _Test(self._next_headroom())

    def cancel(self) -> None:
        self._test = None

    def answer(self, step_a: float, now: float) -> Verdict | None:
        """The EV-phase grid step in the second after a test poll; an outcome once complete."""
        test = self._test
        if test is None:
            return None
        headroom = test.headroom_a
        if test.rise is None:
            if step_a < MIN_GAIN * headroom:
                # It took no more: no second poll (it would only move a limited EV down). A
                # charger that polls less often than every second lands here too: wait long.
                return self._end(Verdict.NO_ANSWER, now + RETEST_S)
            self._test = _Test(headroom, step_a)
            return None
        sample = (test.rise - step_a) / (2.0 * headroom)
        if abs(test.rise + step_a) > QUIET_A or sample > MAX_GAIN:
            # Back off while tests keep failing (a charger that does not answer every poll).
            self._disturbed += 1
            return self._end(
                Verdict.DISTURBED, now + min(SPACING_S * 2.0**self._disturbed, RETEST_S)
            )
        self._disturbed = 0
        self._samples.append(sample)
        if len(self._samples) >= MIN_SAMPLES:
            self._gain = statistics.median(self._samples)
        return self._end(Verdict.SAMPLE, now + (RETEST_S if self.known else SPACING_S))

    def _end(self, verdict: Verdict, next_test_at: float) -> Verdict:
        self._test = None
        self._next_test_at = next_test_at
        return verdict
