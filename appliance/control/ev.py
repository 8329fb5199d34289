"""Estimate the EV's charge current from the grid and from what the charger was told.

The appliance has no EV meter. Two sources tell where the EV's current went:

- **The charger's known response.** Once short tests (`appliance/control/response.py`) have
  measured how far the charger moves per ampere of reported headroom, each second's headroom
  predicts the EV's move. The grid is asked only whether the EV did *not* move up: of "the EV
  followed" and "the EV stood still", the story that leaves the smoother non-EV change (PV ramps
  for tens of seconds, so last second's non-EV step is a good guess for this one) wins; a lower
  offer an EV always follows. While
  the loop follows the surplus the EV's steps and the PV's cancel on the grid, so attributing
  grid steps alone drifts by amperes over a cloudy afternoon; the prediction does not.
- **Grid steps**, before the response is known and for moves larger than one poll may make:
  only the part common to every EV phase can be the EV (a kettle moves one phase), measured
  against the household's trend before the ramp while a start settles and against last
  second's non-EV step once the response is known, and only up to the change still asked for.

Starts are measured from the grid just before the EV's ramp began, carried along the household's
trend then (a cloud edge goes on while the EV ramps up), and once settled on a quiet grid
measured again in one piece against that grid (the sum of the ramp's per-second splits carries
their errors). Phases: after an offer from standstill the cumulative rise per phase
tells which phases the EV uses (1 or 3); that stays known for later sessions. Once the current
has had the detection time to reach the offer and stopped short, the EV is limited there (its
own maximum or a taper). An all-phase drop by about the EV's current while nothing asked for it
means the EV stopped on its own (battery full). A response test that gets no answer, or (before
the response is known) 30 s of asking with no answer, starts a probe: a short request for less
tells a limited EV from one that draws nothing.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

from appliance.control.response import QUIET_A, QUIET_S, ChargerResponse, Verdict

Triple = tuple[float, float, float]

# Fraction of the minimum current a rise must reach to count as the EV starting.
START_FRACTION = 0.6
# An all-phase drop of at least this fraction of the estimate means the EV stopped itself.
STOP_FRACTION = 0.7
# Smaller wanted changes are not attributed: chargers do not follow them (many set whole
# amperes) and meter noise would otherwise random-walk into the estimate.
DEADBAND_A = 0.2
# Phase steps closer than this to each other differ by meter noise only, not by a load.
NOISE_SPREAD_A = 0.15
# Asked for more this long without an answer: probe whether the EV still draws.
PROBE_AFTER_S = 30.0
PROBE_S = 15.0
PROBE_STEP_A = 1.5
PROBE_MIN_STEP_A = 0.7
# Asked for at least this much more before probing: half an ampere already catches a start
# taken from a household rise just below the minimum (the offer asks for the rest, unanswered).
PROBE_MIN_ASK_A = 0.5
# Moves predicted from the charger's response up to this size are taken from the prediction;
# larger ones may exceed what an EV ramps in a second and are measured on the grid.
PREDICTED_MAX_A = 1.0
# A response test whose two steps leave the EV this far from where it began, by about its first
# answer, did not return (a charger that skipped a poll, or one that answers with its own current
# of a poll ago and overshoots): the estimate follows. Any other net is the household's.
TEST_MISSED_A = 0.25
# A larger non-EV step is a switched load, not a ramp that goes on.
MAX_DRIFT_A = 0.6
# While waiting for a start, a smaller step on every phase means the EV's ramp has not begun.
RAMP_STEP_A = 0.5
# While the EV is idle, the household's trend is the mean per-phase step of this many seconds
# (a cloud edge moves the grid by tenths of an ampere per second for half a minute).
TREND_S = 4
# Seconds after the EV's current appears during which it may still rise past the offer.
START_SETTLE_S = 15.0
# While a start settles, smaller steps (beyond the household's trend) are noise.
SETTLE_NOISE_A = 0.15
# A charger may start a little above the offer (an integrator that ran while the EV woke up).
START_OVERSHOOT_A = 3.0
# After a start has settled, the grid this long after the EV's ramp began still tells the EV's
# whole current against the grid before it (the household has not had time to drift).
REMEASURE_WITHIN_S = 45.0
# A larger difference means the household moved in the meantime, not the accounting.
REMEASURE_MAX_A = 0.6


@dataclass(frozen=True, slots=True)
class EvEstimate:
    current_a: float  # per EV phase
    phases: tuple[bool, bool, bool]  # which phases the EV draws from
    detected: bool  # phases seen in this or an earlier session (else assumed)
    limited_a: float | None  # the EV took no more than this despite a higher offer

    @property
    def phase_count(self) -> int:
        return sum(self.phases)

    def per_phase(self) -> Triple:
        return (
            self.current_a if self.phases[0] else 0.0,
            self.current_a if self.phases[1] else 0.0,
            self.current_a if self.phases[2] else 0.0,
        )


@dataclass(frozen=True, slots=True)
class _StillGrid:
    """The grid while the EV was idle and nothing switched, with the household's trend then."""

    grid_a: Triple
    at: float
    trend_a: Triple  # per phase, per second

    def expected(self, now: float) -> Triple:
        """The grid without the EV at `now`, had the trend gone on."""
        dt = now - self.at
        g, t = self.grid_a, self.trend_a
        return (g[0] + t[0] * dt, g[1] + t[1] * dt, g[2] + t[2] * dt)


@dataclass(frozen=True, slots=True)
class _Probe:
    grid_a: Triple  # grid when the probe began
    started: float
    target_a: float  # the lower offer during the probe
    step_a: float


class EvTracker:
    def __init__(self, grid_phases: int) -> None:
        self._grid_phases = grid_phases
        self._phases: tuple[bool, bool, bool] = _default_phases(grid_phases)
        self._detected = False
        self._current = 0.0
        self._last: Triple | None = None
        self._offer = 0.0
        self._offer_raised_at: float | None = None
        self._baseline: Triple | None = None  # grid at the offer from standstill
        self._baseline_at = 0.0
        self._limited: float | None = None
        self._started_at = -math.inf  # when the EV's current last appeared
        self._pending = 0.0  # rise since an offer, before it is confirmed as the EV starting
        self._asked_since: float | None = None  # asking for more since, with no answer
        self._probe: _Probe | None = None
        self._headroom: float | None = None  # headroom the last report gave the EV's phases
        self.response = ChargerResponse()
        self._test_net_a = 0.0  # the EV-phase steps of the running test so far
        self._test_answer_a: float | None = None  # the running test's first step
        self._steered = False  # charging, with headroom reported
        self._following = False  # and settled
        self._drift = 0.0  # last second's step on the EV's phases that was not the EV
        self._quiet_s = 0  # seconds in a row with a small non-EV step
        self._before_ramp: _StillGrid | None = None  # the grid before the EV's ramp began
        self._still_steps: deque[Triple] = deque(maxlen=TREND_S)  # idle grid's recent steps
        self._start_ref: _StillGrid | None = None  # the grid the last start was measured from

    @property
    def gain(self) -> float:
        """The charger's move per ampere of headroom, where it applies (else 1)."""
        return self.response.gain if self._steered else 1.0

    @property
    def predicts(self) -> bool:
        """Whether the EV's moves are taken from the charger's known response."""
        return self._following and self.response.known

    def reported(self, headroom_a: float | None) -> None:
        """Tell the tracker the headroom the report gives the EV's phases (None: pause)."""
        self._headroom = headroom_a

    def estimate(self) -> EvEstimate:
        current = self._current if self._current > 0.0 else self._pending
        return EvEstimate(current, self._phases, self._detected, self._limited)

    def set_grid_phases(self, grid_phases: int) -> None:
        if grid_phases != self._grid_phases:
            self._grid_phases = grid_phases
            self._phases = _default_phases(grid_phases)
            self._detected = False

    def forget_current(self) -> None:
        """After a fail-safe the charger paused: restart from an idle EV."""
        self._current = 0.0
        self._last = None
        self._baseline = None
        self._limited = None
        self._offer = 0.0
        self._offer_raised_at = None
        self._pending = 0.0
        self._asked_since = None
        self._probe = None
        self._steered = False
        self._following = False
        self._drift = 0.0
        self._quiet_s = 0
        self._before_ramp = None
        self._still_steps.clear()
        self._start_ref = None
        self.response.cancel()

    def offer(self, offered_a: float, now: float) -> None:
        """Tell the tracker what the charger is now allowed per phase (0 = paused)."""
        if offered_a > self._offer + 0.5:
            self._offer_raised_at = now
            if self._limited is not None and offered_a <= self._limited:
                self._limited = None
        if offered_a < (self._limited or 0.0):
            self._limited = None
        if self._current <= 0.0 and offered_a > 0.0 and self._baseline is None:
            self._baseline = self._last
            self._baseline_at = now
        if offered_a <= 0.0:
            self._baseline = None
            self._pending = 0.0
        self._offer = offered_a

    def observe(self, grid_a: Triple, now: float, min_current_a: float, detection_s: float) -> None:
        """Account one fresh reading (signed active current per phase, + import)."""
        last = self._last
        self._last = grid_a
        if last is None:
            return
        if self._current <= 0.0 and self._baseline is not None:
            if now - self._baseline_at > detection_s:
                # Nothing started within the window: household drift must not build up into a
                # false start, so look for the next start from here.
                self._baseline, self._baseline_at = grid_a, now
                self._pending = 0.0
            self._detect_start(grid_a, last, now, min_current_a)
            return
        ev_phases = [p for p in range(3) if self._phases[p]]
        steps = [grid_a[p] - last[p] for p in ev_phases]
        common = _common_step(steps)
        goal = self._offer
        settling = now - self._started_at < START_SETTLE_S
        if settling and steps and min(steps) > 0:
            # Just after a start a charger may overshoot the offer (an integrator that kept
            # running while the EV woke up): rises up to that much are still the EV's.
            goal = max(goal, self._offer + START_OVERSHOOT_A)
        expected = goal - self._current
        before = self._current
        self._steered = (
            self._current >= START_FRACTION * min_current_a
            and self._probe is None
            and self._headroom is not None  # a pause is no headroom: the charger stops
        )
        self._following = self._steered and not settling
        middle = _middle_step(steps)
        moved = 0.0
        testing = self.response.testing
        if testing:
            moved = middle  # a test runs on a quiet grid: its steps are the EV's
            self._account_test(middle, grid_a, now, min_current_a)
        elif abs(expected) >= DEADBAND_A or (self.predicts and (self._headroom or 0.0) != 0.0):
            # A step smaller than the deadband is asked only onto ECO's floor, and only once the
            # response is known: the prediction accounts it.
            moved = self._attribute(middle, common, expected, settling)
            self._current += moved
        self._drift = middle - moved
        self._quiet_s = self._quiet_s + 1 if abs(self._drift) < QUIET_A else 0
        if (
            common < 0
            and before >= START_FRACTION * min_current_a
            and STOP_FRACTION * before <= -common <= before / STOP_FRACTION
            and -common > abs(expected) + 1.0
        ):
            # Every EV phase dropped by about the EV's current without being asked: the EV (or
            # the charger) stopped by itself: battery full, unplugged, or paused below minimum.
            self._current = 0.0
            self._limited = None
        if self._limited is not None and self._current > self._limited + 0.5:
            self._limited = None  # it takes more again (a taper ended, a phase freed)
        # Not clamped to the offer: a charger that integrates follows a lower offer over several
        # polls, and the grid steps of that descent must still land on the EV.
        self._current = max(self._current, 0.0)
        if 0.0 < self._current < min_current_a - 1.0 and now - self._started_at >= START_SETTLE_S:
            # A charging EV draws at least the minimum (IEC 61851): less than that, once the
            # start has settled, means it draws nothing and the rest was household.
            self._current = 0.0
            self._limited = None
        self._remeasure_start(grid_a, now, testing)
        if not testing:  # a test's seconds neither ask for more nor answer
            self._check_response(grid_a, now, expected, moved, min_current_a)
        raised = self._offer_raised_at
        if (
            raised is not None
            and now - raised >= detection_s
            and self._current >= START_FRACTION * min_current_a
            and self._current < self._offer - 1.0
        ):
            self._limited = self._current
            self._offer_raised_at = None

    def _remeasure_start(self, grid_a: Triple, now: float, testing: bool) -> None:
        """Once a start has settled on a quiet grid, measure the EV's current in one piece.

        The ramp and the charger's settling (an integrator descends over several polls) are
        accounted second by second, and each second's split between EV and household carries a
        little error; the grid against the moment before the ramp has none of that sum.
        """
        ref = self._start_ref
        if ref is None:
            return
        since = now - self._started_at
        if since > REMEASURE_WITHIN_S or self._current <= 0.0:
            self._start_ref = None
            return
        if since < START_SETTLE_S or testing or self._probe is not None or self._quiet_s < QUIET_S:
            return
        self._start_ref = None
        whole = _middle_step([grid_a[p] - ref.grid_a[p] for p in range(3) if self._phases[p]])
        if abs(whole - self._current) <= REMEASURE_MAX_A:
            self._current = whole

    def _start_trend(self) -> float:
        """The household's trend on the EV's phases before the last start's ramp."""
        ref = self._start_ref
        if ref is None:
            return 0.0
        return _middle_step([ref.trend_a[p] for p in range(3) if self._phases[p]])

    def _account_test(
        self, middle: float, grid_a: Triple, now: float, min_current_a: float
    ) -> None:
        """One second of a response test.

        A charger that returned to where it was leaves the estimate as it was (no noise added).
        One that missed the return ends about its first answer away, up or down: the EV moved by
        both steps together. A net of another size is a household load that switched during
        the test (a heat pump starting on three phases), not the EV.
        """
        if self._test_answer_a is None:
            self._test_answer_a = middle
        self._test_net_a += middle
        verdict = self.response.answer(middle, now)
        net = self._test_net_a
        missed = abs(abs(net) - abs(self._test_answer_a)) < TEST_MISSED_A
        if verdict is not None and abs(net) >= TEST_MISSED_A and missed:
            self._current += net
        if verdict is Verdict.NO_ANSWER:
            self._start_probe(grid_a, now, min_current_a)

    def _attribute(self, middle: float, common: float, expected: float, settling: bool) -> float:
        """The EV's move in the last second, while a change of `expected` was asked for."""
        drift = self._drift if abs(self._drift) <= MAX_DRIFT_A else 0.0
        predicted = self.gain * (self._headroom or 0.0)
        known = self._following and self.response.known
        limited = predicted > 0 and self._limited is not None
        if known and abs(predicted) <= PREDICTED_MAX_A and not limited:
            # An EV always follows a lower offer (IEC 61851); a higher one it may not take (its
            # own maximum, a taper), which the grid tells unless a cloud edge blurs it.
            followed = predicted < 0 or (
                abs(middle - predicted - drift) <= abs(middle - drift) + QUIET_A
            )
            return predicted if followed else 0.0
        # While a start settles, against the household's trend before the ramp; once the response
        # is known, against last second's non-EV step; the smallest common step otherwise.
        if settling and self._headroom is not None:
            # The EV moves every second then, so last second's non-EV step is mostly what was
            # misread of the EV; the trend from before the ramp is not.
            seen = middle - self._start_trend()
            if abs(seen) < SETTLE_NOISE_A:
                # Meter noise, not the EV: the EV ramps or steps by more. Counting only the
                # noise that points the asked way would add up to a bias over the settling.
                return 0.0
        elif known:
            seen = middle - drift
        elif abs(middle - common) <= NOISE_SPREAD_A:
            seen = middle  # the phases agree but for noise: the smallest step would be biased low
        else:
            seen = common
        if seen * expected <= 0:
            return 0.0
        return min(abs(seen), abs(expected)) * (1.0 if seen > 0 else -1.0)

    def test_due(self, now: float) -> bool:
        """Whether a response test would be clean now (charging, settled, quiet grid)."""
        return self._following and self._probe is None and self.response.due(now, self._quiet_s)

    def start_test(self) -> float:
        """Begin a response test: the target that gives the charger the test headroom."""
        self.response.start()
        self._test_net_a = 0.0
        self._test_answer_a = None
        return self._test_target()

    def _test_target(self) -> float:
        return self._current + self.gain * self.response.test_headroom_a

    def override_target(self) -> float | None:
        """While a response test or a probe runs: the current to offer instead."""
        if self.response.testing:
            return self._test_target()
        return self.probe_target()

    def probe_target(self) -> float | None:
        """While a probe runs: the lower current to offer (the controller's target)."""
        return None if self._probe is None else self._probe.target_a

    def _check_response(
        self, grid_a: Triple, now: float, expected: float, moved: float, min_current_a: float
    ) -> None:
        """Catch an estimate that no longer matches the EV (e.g. a charger that paused unseen).

        Asked for more for `PROBE_AFTER_S` and nothing came: either the EV is limited (it still
        draws the estimate) or it draws nothing. A short request for less tells them apart: a
        drawing EV drops, a paused one cannot.
        """
        probe = self._probe
        ev_phases = [p for p in range(3) if self._phases[p]]
        if probe is not None:
            drop = -_common_step([grid_a[p] - probe.grid_a[p] for p in ev_phases])
            if drop >= 0.5 * probe.step_a:
                self._probe = None
                self._limited = probe.target_a + probe.step_a  # real: the EV is limited
            elif now - probe.started >= PROBE_S:
                self._probe = None
                self._current = 0.0  # nothing answered: the EV was not drawing
                self._limited = None
            return
        if self.response.known:
            # Response tests catch an EV that does not follow; asking goes unanswered on the grid
            # whenever the EV follows a PV ramp, so the 30 s rule would probe a following EV.
            self._asked_since = None
            return
        settled = self._current >= START_FRACTION * min_current_a
        if expected < PROBE_MIN_ASK_A or moved >= DEADBAND_A or not settled:
            self._asked_since = None
            return
        if self._asked_since is None:
            self._asked_since = now
            return
        if now - self._asked_since < PROBE_AFTER_S:
            return
        self._asked_since = None
        self._start_probe(grid_a, now, min_current_a)

    def _start_probe(self, grid_a: Triple, now: float, min_current_a: float) -> None:
        room = self._current - min_current_a
        if room >= PROBE_MIN_STEP_A:
            step = min(PROBE_STEP_A, room)
            self._probe = _Probe(grid_a, now, self._current - step, step)
        else:
            # So close to the minimum there is no room to probe without pausing a real EV, and
            # EVs do not limit themselves there: take the EV as not drawing.
            self._current = 0.0
            self._limited = None

    def _detect_start(self, grid_a: Triple, last: Triple, now: float, min_current_a: float) -> None:
        baseline = self._baseline
        assert baseline is not None
        candidates = range(self._grid_phases)
        rises = [grid_a[p] - baseline[p] for p in candidates]
        top = max(rises)
        step = (grid_a[0] - last[0], grid_a[1] - last[1], grid_a[2] - last[2])
        if top < START_FRACTION * min_current_a and all(
            abs(step[p]) < RAMP_STEP_A for p in candidates
        ):
            # The grid stands still: the EV's ramp, when it comes, is measured from here (a
            # baseline from minutes ago carries the household's drift since), along the
            # household's trend (a cloud edge goes on while the EV ramps up).
            self._still_steps.append(step)
            trend = tuple(statistics.fmean(s[p] for s in self._still_steps) for p in range(3))
            self._before_ramp = _StillGrid(grid_a, now, (trend[0], trend[1], trend[2]))
        else:
            self._still_steps.clear()
        base = baseline if self._before_ramp is None else self._before_ramp.expected(now)
        if top >= START_FRACTION * min_current_a and self._before_ramp is not None:
            rises = [grid_a[p] - base[p] for p in candidates]
            top = max(rises)
        if top < START_FRACTION * min_current_a:
            # Not yet a start, but a rise on the assumed phases since the grid last stood still
            # is probably the EV ramping up (a household drift is not: the offer would shrink
            # by it, below the minimum, and the charger would never start).
            self._pending = max(min(grid_a[p] - base[p] for p in range(3) if self._phases[p]), 0.0)
            return
        self._pending = 0.0
        chosen = [rises[i] >= 0.6 * top for i in range(len(rises))]
        phases = tuple(chosen[p] if p < len(chosen) else False for p in range(3))
        self._phases = (phases[0], phases[1], phases[2])
        self._detected = True
        self._started_at = now
        self._asked_since = None
        rise = min(r for r, keep in zip(rises, chosen, strict=True) if keep)
        self._current = min(rise, max(self._offer, 0.0) + START_OVERSHOOT_A)
        still = self._before_ramp
        self._start_ref = still if still is not None else _StillGrid(baseline, now, (0.0,) * 3)
        self._baseline = None
        self._before_ramp = None
        self._still_steps.clear()


def _common_step(steps: list[float]) -> float:
    """The part of a per-phase step that all phases share (0 when they disagree in sign)."""
    if all(s > 0 for s in steps):
        return min(steps)
    if all(s < 0 for s in steps):
        return max(steps)
    return 0.0


def _middle_step(steps: list[float]) -> float:
    """The median step of the EV's phases: one phase's own load does not move it."""
    ordered = sorted(steps)
    return ordered[len(ordered) // 2]


def _default_phases(grid_phases: int) -> tuple[bool, bool, bool]:
    return (True, grid_phases == 3, grid_phases == 3)
