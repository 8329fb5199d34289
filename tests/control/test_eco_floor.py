"""ECO at its floor: exactly the minimum, and no small decrease that could pause the charger."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.clock import FakeClock
from appliance.control import Controller, ControlTuning
from appliance.control.ev import PROBE_AFTER_S, EvTracker
from appliance.grid import ReportedGrid
from appliance.modes import ECO
from appliance.sim.day import build_reading
from tests.control.harness import V, make_settings

HOUSE_A = 1.3  # per phase, no PV: every ampere the EV draws comes from the grid


def start(
    ev_a: float, tuning: ControlTuning | None = None, pv_a: float = 0.0
) -> tuple[Controller, ReportedGrid]:
    """ECO (PV `pv_a` per phase): the minimum is offered, then an EV appears drawing `ev_a`."""
    settings = make_settings(mode="eco")
    controller, clock = Controller(tuning), FakeClock()
    report: ReportedGrid | None = None
    for second in range(40):
        draw = ev_a if second >= 5 else 0.0
        now, wall = clock.monotonic(), clock.time()
        reading = build_reading(np.full(3, (HOUSE_A + draw - pv_a) * V), V, 3, now, wall)
        report = controller.update(reading, settings, ECO, now=now, wall_time=wall)
        clock.advance(1.0)
    assert report is not None
    assert abs(controller.status.ev_current_a - ev_a) < 0.05
    return controller, report


def report_after_start(ev_a: float, tuning: ControlTuning | None = None) -> ReportedGrid:
    return start(ev_a, tuning)[1]


def test_eco_offers_exactly_the_minimum_without_surplus() -> None:
    minimum = make_settings(mode="eco").grid.min_charge_current_a
    settings = make_settings(mode="eco")
    controller, clock = Controller(), FakeClock()
    now, wall = clock.monotonic(), clock.time()
    reading = build_reading(np.full(3, HOUSE_A * V), V, 3, now, wall)
    controller.update(reading, settings, ECO, now=now, wall_time=wall)
    # Waiting for the EV: a little above the minimum, so a ramp read high cannot pause it.
    assert controller.status.target_a == minimum + ControlTuning().eco_starting_margin_a
    # Charging: exactly the minimum, nothing more drawn from the grid.
    assert start(float(minimum))[0].status.target_a == minimum


def test_a_small_excess_at_the_floor_is_not_asked_back() -> None:
    limit = float(make_settings(mode="eco").grid.max_charge_current_a)
    # 0.6 A above the minimum, inside the floor band: the report asks for no change ("limit -
    # 0"), so an estimate that is a little high cannot push the charger below its minimum.
    for phase in report_after_start(6.6).phases:
        assert abs(phase.current_a - limit) < 1e-9
    # Without the band the same state asks for 0.6 A less.
    no_band = report_after_start(6.6, ControlTuning(eco_floor_band_a=0.0))
    for phase in no_band.phases:
        assert abs(phase.current_a - (limit + 0.6)) < 1e-6


def test_a_small_decrease_just_above_the_floor_is_not_asked_either() -> None:
    limit = float(make_settings(mode="eco").grid.max_charge_current_a)
    tuning = ControlTuning()
    # The surplus carries 6.3 A while the EV draws 6.6 A: a 0.3 A decrease so close to the
    # minimum is not asked for (an integrating charger would step below its minimum).
    net_per_phase_a = (-tuning.export_margin_w - 3 * V * (6.3 - 6.6)) / (3 * V)
    controller, report = start(6.6, pv_a=HOUSE_A + 6.6 - net_per_phase_a)
    assert controller.status.available_a == pytest.approx(6.3, abs=0.05)
    for phase in report.phases:
        assert abs(phase.current_a - limit) < 1e-9


def test_a_large_excess_at_the_floor_is_asked_back() -> None:
    limit = float(make_settings(mode="eco").grid.max_charge_current_a)
    for phase in report_after_start(8.0).phases:
        assert abs(phase.current_a - (limit + 2.0)) < 1e-6  # 2 A less, down to the minimum


def test_a_phantom_start_just_below_the_minimum_is_dropped() -> None:
    """A household rise taken for an EV start, with no EV behind it, does not stay forever."""
    tracker = EvTracker(grid_phases=3)
    flat = (HOUSE_A, HOUSE_A, HOUSE_A)
    tracker.observe(flat, 0.0, 6.0, 30.0)
    tracker.offer(6.0, 0.0)
    rise = tuple(a + 5.3 for a in flat)
    tracker.observe((rise[0], rise[1], rise[2]), 1.0, 6.0, 30.0)
    assert tracker.estimate().current_a > 5.0  # taken for an EV drawing 5.3 A
    now = 1.0
    while now < 2 * PROBE_AFTER_S + 30:
        now += 1.0
        tracker.offer(6.0, now)  # asking 0.7 A more, and nothing answers
        tracker.observe((rise[0], rise[1], rise[2]), now, 6.0, 30.0)
    assert tracker.estimate().current_a == 0.0
