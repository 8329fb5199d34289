"""Fail-safe: an overloaded grid within the stale limit of losing data, and automatic recovery."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from appliance.clock import FakeClock
from appliance.control import Controller, ControlPhase
from appliance.grid import Fault, PhaseReading
from appliance.modes import ECO
from appliance.sim.day import build_reading
from tests.control.harness import Loop, make_settings


def charging_loop() -> Loop:
    loop = Loop(make_settings(mode="eco"), ECO, pv_w=2000.0)
    loop.run_until(lambda lp: lp.status.phase is ControlPhase.CHARGING, 30)
    loop.step(20)
    return loop


def test_no_data_at_startup_reports_an_overloaded_grid_at_once(clock: FakeClock) -> None:
    report = Controller().update(
        None, make_settings(), ECO, now=clock.monotonic(), wall_time=clock.time()
    )
    assert report.failsafe
    assert all(p.current_a >= 100.0 for p in report.phases)


def test_data_loss_enters_the_failsafe_within_the_stale_limit_and_the_charger_pauses() -> None:
    loop = charging_loop()
    stale = loop.settings.metering.stale_after_s
    loop.deliver = False
    took = loop.run_until(lambda lp: lp.report is not None and lp.report.failsafe, 15)
    assert took <= stale
    assert loop.status.phase is ControlPhase.FAILSAFE
    assert loop.report is not None
    limit = loop.settings.grid.max_charge_current_a
    assert all(p.current_a >= 2 * limit for p in loop.report.phases)
    loop.step(2)
    assert loop.charger.offer_a is None
    assert loop.ev.current_a == 0.0
    # Data comes back: control resumes by itself.
    loop.deliver = True
    loop.step()
    assert loop.report is not None
    assert not loop.report.failsafe
    loop.run_until(lambda lp: lp.status.phase is ControlPhase.CHARGING, 30)
    assert loop.ev.current_a >= 6.0


def test_before_the_stale_limit_the_last_report_is_repeated() -> None:
    loop = charging_loop()
    assert loop.report is not None
    before = loop.report.phases
    loop.deliver = False
    loop.step(5)
    assert not loop.report.failsafe
    assert [p.current_a for p in loop.report.phases] == [p.current_a for p in before]


@pytest.mark.parametrize("fault", [Fault.NO_VOLTAGE, Fault.BAD_WINDOW, Fault.NO_DATA])
def test_invalid_readings_end_in_the_failsafe(clock: FakeClock, fault: Fault) -> None:
    settings = make_settings(mode="eco")
    controller = Controller()
    powers = np.array([500.0, 500.0, 500.0])
    reports = []
    for second in range(15):
        reading = build_reading(powers, 230.0, 3, clock.monotonic(), clock.time())
        if second >= 3:
            reading = replace(reading, faults=frozenset({fault}))
        reports.append(
            controller.update(reading, settings, ECO, now=clock.monotonic(), wall_time=clock.time())
        )
        clock.advance(1.0)
    first_failsafe = next(i for i, r in enumerate(reports) if r.failsafe)
    assert first_failsafe - 2 <= settings.metering.stale_after_s


def test_a_missing_ct_on_a_used_phase_ends_in_the_failsafe(clock: FakeClock) -> None:
    settings = make_settings(mode="eco")
    controller = Controller()
    powers = np.array([500.0, 500.0, 500.0])
    report = None
    for _ in range(12):
        reading = build_reading(powers, 230.0, 3, clock.monotonic(), clock.time())
        broken = PhaseReading(0.0, 0.0, 230.0, faults=frozenset({Fault.CT_MISSING}))
        reading = replace(reading, phases=(reading.phases[0], broken, reading.phases[2]))
        report = controller.update(
            reading, settings, ECO, now=clock.monotonic(), wall_time=clock.time()
        )
        clock.advance(1.0)
    assert report is not None
    assert report.failsafe


def test_old_readings_count_as_lost(clock: FakeClock) -> None:
    settings = make_settings(mode="eco")
    controller = Controller()
    reading = build_reading(np.array([500.0] * 3), 230.0, 3, clock.monotonic(), clock.time())
    clock.advance(settings.metering.stale_after_s)
    report = controller.update(
        reading, settings, ECO, now=clock.monotonic(), wall_time=clock.time()
    )
    assert report.failsafe
