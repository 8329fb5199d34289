"""ECO at its floor: the minimum plus a small margin, reached from above without a pause."""

from __future__ import annotations

import pytest

from appliance.control import ControlPhase, ControlTuning
from appliance.control.ev import PROBE_AFTER_S, EvTracker
from appliance.modes import ECO
from appliance.sim.charger import ChargerBehaviour
from tests.control.harness import Loop, make_settings

HOUSE_A = 1.3  # per phase, no PV: every ampere the EV draws comes from the grid
TUNING = ControlTuning()
FLOOR_A = 6.0 + TUNING.eco_minimum_margin_a


def eco_loop(behaviour: ChargerBehaviour, pv_w: float) -> Loop:
    return Loop(make_settings(mode="eco"), ECO, behaviour, pv_w=pv_w)


@pytest.mark.parametrize("behaviour", list(ChargerBehaviour))
def test_without_surplus_eco_charges_at_its_floor(behaviour: ChargerBehaviour) -> None:
    loop = eco_loop(behaviour, pv_w=0.0)
    loop.step(30)
    for _ in range(300):
        loop.step()
        assert loop.ev.current_a >= 6.0  # never below the minimum, never paused
    assert loop.status.phase is ControlPhase.CHARGING
    # At the floor, within the smallest change asked for.
    assert abs(loop.ev.current_a - FLOOR_A) <= TUNING.report_deadband_a
    assert loop.status.ev_current_a == pytest.approx(loop.ev.current_a, abs=0.3)


@pytest.mark.parametrize("behaviour", list(ChargerBehaviour))
def test_when_the_sun_goes_the_ev_comes_down_to_the_floor_without_a_pause(
    behaviour: ChargerBehaviour,
) -> None:
    loop = eco_loop(behaviour, pv_w=7000.0)
    loop.step(300)
    assert loop.ev.current_a > 8.0  # on the surplus
    for step in range(1, 31):  # a cloud: the PV falls over 30 s
        loop.pv_w = 7000.0 * (1.0 - step / 30.0)
        loop.step()
        assert loop.ev.current_a > 0.0  # never paused on the way down
    loop.step(120)
    assert abs(loop.ev.current_a - FLOOR_A) <= TUNING.report_deadband_a


@pytest.mark.parametrize("behaviour", list(ChargerBehaviour))
def test_at_sunset_the_ev_lands_on_the_floor_not_a_deadband_above_it(
    behaviour: ChargerBehaviour,
) -> None:
    """The surplus fades slowly; changes are asked in steps of the deadband, and the last one,
    onto the floor, is asked even when it is smaller (the response is known: it cannot creep)."""
    loop = eco_loop(behaviour, pv_w=7000.0)
    loop.step(400)
    assert loop.controller.charger_gain is not None
    for step in range(1, 901):
        loop.pv_w = 7000.0 * (1.0 - step / 900.0)
        loop.step()
        assert loop.ev.current_a >= 6.0
    loop.step(60)
    assert loop.ev.current_a == pytest.approx(FLOOR_A, abs=0.03)


def test_the_charger_response_is_learned_for_both_behaviours() -> None:
    gains = {}
    for behaviour in ChargerBehaviour:
        loop = eco_loop(behaviour, pv_w=7000.0)
        loop.step(400)
        gains[behaviour] = loop.controller.charger_gain
    assert gains[ChargerBehaviour.SUBTRACTING] == pytest.approx(1.0, abs=0.05)
    assert gains[ChargerBehaviour.INTEGRATING] == pytest.approx(0.4, abs=0.05)


def test_no_response_test_runs_at_the_floor() -> None:
    """A test's return poll lands where it began: at the floor, a rounding away from the
    minimum, and the charger would pause. Tests need 0.15 A above the minimum."""
    loop = eco_loop(ChargerBehaviour.SUBTRACTING, pv_w=0.0)
    loop.step(300)  # started, and down at the floor
    for _ in range(2 * 600):  # twice the time between tests once the response is known
        loop.step()
        assert 6.0 <= loop.ev.current_a <= FLOOR_A + 0.5  # never paused, never tested


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
