"""Simulation parts: the charger decodes our registers, the EV follows offers, the EV load."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.grid import ReportedGrid, ReportedPhase
from appliance.modes import ECO_PLUS
from appliance.sim.charger import ChargerBehaviour, MeterClient, SimCharger
from appliance.sim.day import SCENARIOS, ApplianceSteering, metrics, settings_for, simulate_day
from appliance.sim.ev import EvSpec, SimEv
from appliance.sim.ev_load import EvLoad
from appliance.sim.household import household
from appliance.sim.pv import SUMMER, SUMMER_CLOUDY, pv_power

GRID = ReportedGrid(
    monotonic_s=0.0,
    wall_time_s=0.0,
    phases=(
        ReportedPhase(70.123, 230.0, 16_000.0),
        ReportedPhase(12.5, 230.0, 2875.0),
        ReportedPhase(0.25, 230.0, 57.5),
    ),
)


@pytest.mark.parametrize("meter", ["emu_professional", "eastron_sdm630"])
def test_the_charger_reads_the_reported_currents_from_the_register_words(meter: str) -> None:
    currents = MeterClient(meter).currents(GRID)
    assert currents == pytest.approx((70.123, 12.5, 0.25), abs=1e-3)


def test_before_any_report_the_charger_sees_an_overload_and_pauses() -> None:
    charger = SimCharger(ChargerBehaviour.SUBTRACTING)
    assert charger.poll(None, (0.0, 0.0, 0.0)) is None


def test_subtracting_charger_offers_limit_minus_reported_plus_own() -> None:
    charger = SimCharger(ChargerBehaviour.SUBTRACTING, grid_limit_a=32.0)
    grid = ReportedGrid(0.0, 0.0, (ReportedPhase(30.0, 230.0, 6900.0),) * 3)
    assert charger.poll(grid, (8.0, 8.0, 8.0)) == pytest.approx(10.0)


def test_integrating_charger_moves_by_a_share_of_the_headroom() -> None:
    charger = SimCharger(ChargerBehaviour.INTEGRATING, grid_limit_a=32.0, gain=0.5)
    grid = ReportedGrid(0.0, 0.0, (ReportedPhase(24.0, 230.0, 5520.0),) * 3)
    assert charger.poll(grid, (0.0, 0.0, 0.0)) == 6.0  # starts at the minimum
    assert charger.poll(grid, (6.0, 6.0, 6.0)) == pytest.approx(9.0)  # + 0.5 x 8 A, anti-windup


def test_ev_waits_ramps_follows_and_stops_when_full() -> None:
    ev = SimEv(EvSpec(start_latency_s=2.0, ramp_up_a_per_s=3.0, battery_kwh=1.0, start_soc=0.9))
    trace = [ev.step(16.0) for _ in range(8)]
    assert trace[:2] == [0.0, 0.0]
    assert trace[2:5] == [3.0, 6.0, 9.0]
    ev.step(None)
    assert ev.step(None) == 0.0  # paused: down at 12 A/s
    for _ in range(600):
        ev.step(16.0)
    assert ev.full
    assert ev.current_a == 0.0


def test_profiles_are_deterministic_and_shaped() -> None:
    a = household("heavy", seed=3).power_w
    b = household("heavy", seed=3).power_w
    assert np.array_equal(a, b)
    assert a.shape == (3, 86_400)
    clear = pv_power(SUMMER)
    cloudy = pv_power(SUMMER_CLOUDY, seed=3)
    assert clear[3 * 3600] == 0.0
    assert clear.max() == pytest.approx(SUMMER.peak_w, rel=0.01)
    assert cloudy.sum() < 0.9 * clear.sum()


def test_ev_load_follows_the_reports_it_polls() -> None:
    load = EvLoad(EvSpec(plug_in_h=0.0, start_latency_s=1.0))
    current = load.current_at(0.0)
    for second in range(12):
        # A meter that passes the grid through: 22 A of household plus the EV itself.
        seen = ReportedPhase(22.0 + current[0], 230.0, 0.0)
        load.poll(ReportedGrid(0.0, 0.0, (seen, seen, seen)), float(second))
        current = load.current_at(float(second + 1))
    assert current == pytest.approx((10.0, 10.0, 10.0))


def test_a_short_simulated_day_runs_through_the_register_map() -> None:
    scenario = SCENARIOS["sunny"]
    steering = ApplianceSteering(
        settings_for(scenario, ECO_PLUS), ECO_PLUS, ChargerBehaviour.SUBTRACTING
    )
    trace = simulate_day(scenario, steering, ECO_PLUS, seconds=4 * 3600, loss_after_h=0.0)
    assert trace.grid_w.shape == (4 * 3600,)
    result = metrics(trace)
    assert result.ev_energy_kwh == 0.0  # no sun before 04:00: ECO+ never starts
    assert trace.failsafe.sum() == 0
