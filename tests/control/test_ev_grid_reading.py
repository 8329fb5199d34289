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
