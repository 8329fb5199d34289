"""The charger's response per poll, learned from two-poll tests, and the estimate it keeps."""

from __future__ import annotations

import pytest

from appliance.control.response import (
    MIN_SAMPLES,
    QUIET_S,
    RETEST_S,
    SPACING_S,
    TEST_MOVE_A,
    ChargerResponse,
    Verdict,
)
from appliance.modes import ECO
from appliance.sim.charger import ChargerBehaviour
from tests.control.harness import Loop, make_settings


def run_test(response: ChargerResponse, rise: float, fall: float, now: float) -> Verdict:
    response.start()
    headroom = response.test_headroom_a
    first = response.answer(rise, now + 1.0)
    if first is not None:
        return first
    assert response.test_headroom_a == -headroom  # the second poll returns the charger
    outcome = response.answer(fall, now + 2.0)
    assert outcome is not None
    return outcome


def test_equal_and_opposite_answers_teach_the_gain() -> None:
    response = ChargerResponse()
    assert response.gain == 1.0  # nothing learned yet
    now = 0.0
    for gain in (0.41, 0.39, 0.40):  # an integrating charger: 0.4 per ampere of headroom
        assert response.due(now, QUIET_S)
        move = gain * response.test_headroom_a
        assert run_test(response, move, -move, now) is Verdict.SAMPLE
        now += SPACING_S + 2.0
    assert response.known
    assert response.gain == pytest.approx(0.40, abs=1e-9)
    assert not response.due(now, QUIET_S)  # learned: the next test only after RETEST_S
    assert response.due(now + RETEST_S, QUIET_S)


def test_the_test_headroom_aims_at_the_same_move_for_either_charger() -> None:
    """A 0.4 A answer stands barely above the meter's noise: a slow charger is given more."""
    response = ChargerResponse()
    assert response.test_headroom_a == TEST_MOVE_A  # unknown: one ampere
    assert run_test(response, 0.4, -0.4, 0.0) is Verdict.SAMPLE
    assert response.test_headroom_a == pytest.approx(TEST_MOVE_A / 0.4)  # 2.5 A: a 1 A move
    subtracting = ChargerResponse()
    assert run_test(subtracting, 1.0, -1.0, 0.0) is Verdict.SAMPLE
    assert subtracting.test_headroom_a == TEST_MOVE_A


def test_a_grid_that_moves_during_the_test_teaches_nothing() -> None:
    response = ChargerResponse()
    for n in range(MIN_SAMPLES):
        assert run_test(response, 1.0, -0.6, n * 100.0) is Verdict.DISTURBED
    assert not response.known


def test_no_answer_to_the_first_poll_ends_the_test_at_once() -> None:
    response = ChargerResponse()
    response.start()
    assert response.answer(0.02, 1.0) is Verdict.NO_ANSWER
    assert not response.testing  # no second poll: it would only move a limited EV down


def test_a_test_needs_a_quiet_grid() -> None:
    response = ChargerResponse()
    assert not response.due(0.0, QUIET_S - 1)
    assert response.due(0.0, QUIET_S)


@pytest.mark.parametrize("behaviour", list(ChargerBehaviour))
def test_the_estimate_follows_the_ev_through_a_pv_ramp(behaviour: ChargerBehaviour) -> None:
    """While ECO follows a rising PV the grid stays flat: the EV's steps and the PV's cancel.

    Attributing grid steps alone would see nothing; the learned response keeps the estimate on
    the EV's current.
    """
    loop = Loop(make_settings(mode="eco"), ECO, behaviour, pv_w=6000.0)
    loop.step(400)  # charging on the surplus, response tests done
    assert loop.controller.charger_gain is not None
    for step in range(1, 61):  # 0.12 A per second per phase of PV for a minute
        loop.pv_w = 6000.0 + 80.0 * step
        loop.step()
        assert abs(loop.net_w()) < 700.0  # the loop keeps the grid near zero all along
    loop.step(20)
    assert loop.ev.current_a > 13.0
    assert loop.status.ev_current_a == pytest.approx(loop.ev.current_a, abs=0.3)


def test_after_no_answer_the_next_test_waits_long() -> None:
    response = ChargerResponse()
    assert run_test(response, 0.0, 0.0, 0.0) is Verdict.NO_ANSWER
    assert not response.due(1.0 + SPACING_S, QUIET_S)  # no test (and probe) every 20 s
    assert response.due(1.0 + RETEST_S, QUIET_S)


@pytest.mark.parametrize("poll_every_s", [2, 3, 5])
@pytest.mark.parametrize("behaviour", list(ChargerBehaviour))
def test_a_charger_that_polls_less_often_is_followed_too(
    behaviour: ChargerBehaviour, poll_every_s: int
) -> None:
    """Tests then miss polls: they teach nothing, back off, and leave the estimate right."""
    loop = Loop(make_settings(mode="eco"), ECO, behaviour, pv_w=8000.0, poll_every_s=poll_every_s)
    loop.step(60)
    for _ in range(900):
        loop.step()
        assert loop.ev.current_a >= 6.0  # never paused
    surplus_a = (8000.0 - 900.0) / (3 * 230.0)
    assert loop.ev.current_a == pytest.approx(surplus_a, abs=0.6)
    assert loop.status.ev_current_a == pytest.approx(loop.ev.current_a, abs=0.3)


def test_after_a_restart_a_known_response_brings_an_integrator_down_in_one_poll() -> None:
    """An integrating charger restarts at the minimum and winds up while the EV wakes. With
    its response known, the way back down is one clear step, not a tail of small ones that
    meter noise would blur (and that ends a deadband short)."""
    loop = Loop(make_settings(mode="eco"), ECO, ChargerBehaviour.INTEGRATING, pv_w=7000.0)
    loop.step(400)
    assert loop.controller.charger_gain == pytest.approx(0.4, abs=0.02)
    loop.deliver = False  # a data loss: the fail-safe pauses the charger
    loop.step(20)
    assert loop.ev.current_a == 0.0
    loop.pv_w = 900.0 + 6.5 * 690.0  # the surplus now carries 6.5 A
    loop.deliver = True
    currents = []
    for _ in range(30):
        loop.step()
        currents.append(loop.ev.current_a)
    top = currents.index(max(currents))
    assert max(currents) > 8.0  # wound up while the EV woke
    assert currents[top + 1 :] == pytest.approx([6.5] * (len(currents) - top - 1), abs=0.02)
