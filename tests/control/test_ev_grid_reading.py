"""How the EV estimate reads the grid: a settled start measured whole, small steps, loads."""

from __future__ import annotations

import pytest

import appliance.control.ev as ev_module
from appliance.control.ev import EvTracker

HOUSE_A = 1.3
MIN_A = 6.0
DETECTION_S = 90.0


def run_start(monkeypatch: pytest.MonkeyPatch, remeasure: bool) -> EvTracker:
    if not remeasure:
        monkeypatch.setattr(ev_module, "REMEASURE_WITHIN_S", 0.0)
    tracker = EvTracker(grid_phases=3)
    now = 0.0
    tracker.observe((HOUSE_A,) * 3, now, MIN_A, DETECTION_S)
    tracker.offer(6.25, now)
    # The EV ramps past what a start may overshoot (an integrator that wound up while it
    # woke): the step accounting caps the last step, the grid still shows the whole rise.
    for ev in (0.0, 0.0, 3.0, 6.0, 9.5) + (9.5,) * 20:
        now += 1.0
        tracker.observe((HOUSE_A + ev,) * 3, now, MIN_A, DETECTION_S)
        tracker.offer(6.25, now)
    return tracker


def test_a_settled_start_is_measured_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_start(monkeypatch, remeasure=True).estimate().current_a == pytest.approx(9.5)


def test_without_the_whole_measure_the_capped_step_stays_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_start(monkeypatch, remeasure=False).estimate().current_a < 9.4


def test_a_small_step_is_read_from_the_middle_phase_not_the_smallest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Meter noise spreads an EV step over the phases; the smallest of them is biased low."""
    tracker = run_start(monkeypatch, remeasure=True)
    before = tracker.estimate().current_a
    tracker.offer(before - 0.5, 30.0)
    grid = HOUSE_A + before
    tracker.observe((grid - 0.10, grid - 0.14, grid - 0.12), 31.0, MIN_A, DETECTION_S)
    assert tracker.estimate().current_a == pytest.approx(before - 0.12)


def test_a_two_phase_load_is_not_read_as_the_ev(monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = run_start(monkeypatch, remeasure=True)
    before = tracker.estimate().current_a
    tracker.offer(before + 2.0, 30.0)
    grid = HOUSE_A + before
    # A hob on L1 and L2 (+4 A) while the EV rose by 0.5 A.
    tracker.observe((grid + 4.5, grid + 4.5, grid + 0.5), 31.0, MIN_A, DETECTION_S)
    assert tracker.estimate().current_a == pytest.approx(before + 0.5)


def test_a_start_on_a_cloud_edge_is_measured_along_the_household_trend() -> None:
    """The PV falls (+0.2 A a second on every phase) while the EV wakes and ramps up."""
    tracker = EvTracker(grid_phases=3)
    drift_a = 0.2
    now = 0.0
    tracker.observe((HOUSE_A,) * 3, now, MIN_A, DETECTION_S)
    tracker.offer(6.25, now)
    for ev in (0.0,) * 6 + (3.0, 6.0):
        now += 1.0
        tracker.observe((HOUSE_A + drift_a * now + ev,) * 3, now, MIN_A, DETECTION_S)
        tracker.offer(6.25, now)
    # Against the grid before the ramp alone, the cloud's two seconds would read 6.4 A.
    assert tracker.estimate().current_a == pytest.approx(6.0, abs=0.02)


def test_while_waiting_for_the_ev_a_household_drift_is_not_its_ramp() -> None:
    """The offer would shrink by a rise read as the EV's, below the minimum: no start, ever."""
    tracker = EvTracker(grid_phases=3)
    now = 0.0
    tracker.observe((HOUSE_A,) * 3, now, MIN_A, DETECTION_S)
    tracker.offer(6.25, now)
    for _ in range(30):  # the EV does not answer yet; a cloud raises the grid by 0.3 A a second
        now += 1.0
        tracker.observe((HOUSE_A + 0.3 * now,) * 3, now, MIN_A, DETECTION_S)
        tracker.offer(6.25, now)
    assert tracker.estimate().current_a < 0.3


def test_noise_while_a_start_settles_adds_up_to_nothing() -> None:
    """The EV stands at its offer; the meter's noise steps both ways by 0.1 A a second."""
    tracker = EvTracker(grid_phases=3)
    now = 0.0
    tracker.observe((HOUSE_A,) * 3, now, MIN_A, DETECTION_S)
    tracker.offer(6.25, now)
    noise = (0.05, -0.05)
    for second, ev in enumerate((0.0, 0.0, 3.0, 6.25) + (6.25,) * 14):
        now += 1.0
        tracker.observe((HOUSE_A + ev + noise[second % 2],) * 3, now, MIN_A, DETECTION_S)
        tracker.reported(6.25 - tracker.estimate().current_a)
        tracker.offer(6.25, now)
    assert tracker.estimate().current_a == pytest.approx(6.25, abs=0.1)


def following_tracker(monkeypatch: pytest.MonkeyPatch) -> tuple[EvTracker, float]:
    """A settled start at 9.5 A on a quiet grid, with the headroom reported held at zero."""
    tracker = run_start(monkeypatch, remeasure=True)
    now = 30.0
    for _ in range(5):
        tracker.reported(0.0)
        tracker.observe((HOUSE_A + 9.5,) * 3, now, MIN_A, DETECTION_S)
        now += 1.0
    assert tracker.test_due(now)
    return tracker, now


@pytest.mark.parametrize(
    ("after_return_a", "estimate_a"),
    [
        (3.0, 9.5),  # it returned while a heat pump started on three phases (+3 A each)
        (1.0, 10.5),  # it skipped the return poll: the EV stays 1 A higher
    ],
)
def test_a_response_test_moves_the_estimate_only_by_a_missed_return(
    monkeypatch: pytest.MonkeyPatch, after_return_a: float, estimate_a: float
) -> None:
    tracker, now = following_tracker(monkeypatch)
    tracker.start_test()
    grid = HOUSE_A + 9.5
    tracker.observe((grid + 1.0,) * 3, now, MIN_A, DETECTION_S)  # the EV takes 1 A more
    tracker.observe((grid + after_return_a,) * 3, now + 1.0, MIN_A, DETECTION_S)
    assert not tracker.response.testing
    assert tracker.estimate().current_a == pytest.approx(estimate_a)


def test_a_step_down_is_taken_as_followed_even_when_a_cloud_edge_hides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracker, now = following_tracker(monkeypatch)
    grid = HOUSE_A + 9.5
    while not tracker.response.known:  # three clean tests: a subtracting charger (1 A per A)
        tracker.start_test()
        tracker.observe((grid + 1.0,) * 3, now, MIN_A, DETECTION_S)
        tracker.observe((grid,) * 3, now + 1.0, MIN_A, DETECTION_S)
        for _ in range(25):
            now += 1.0
            tracker.reported(0.0)
            tracker.observe((grid,) * 3, now, MIN_A, DETECTION_S)
    tracker.offer(9.0, now)
    tracker.reported(-0.5)  # half an ampere less
    # The EV drops 0.5 A in the second a cloud's shadow starts to raise the grid by 0.45 A.
    tracker.observe((grid - 0.5 + 0.45,) * 3, now + 1.0, MIN_A, DETECTION_S)
    assert tracker.estimate().current_a == pytest.approx(9.0)
