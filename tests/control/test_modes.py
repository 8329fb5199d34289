"""Each mode's start, hold, stop and restart in a closed loop on an injected clock."""

from __future__ import annotations

from appliance.control import ControlPhase, ControlTuning
from appliance.modes import ECO, ECO_PLUS, ChargeMode, ModeKind
from appliance.sim.charger import ChargerBehaviour
from appliance.sim.ev import EvSpec
from tests.control.harness import Loop, make_settings

TUNING = ControlTuning()
# Long enough for an ECO+ start: the start delay and the EV's wake-up.
START_S = int(TUNING.start_delay_s) + 30


def charging(loop: Loop) -> bool:
    return loop.status.phase is ControlPhase.CHARGING


def eco_plus_loop(behaviour: ChargerBehaviour = ChargerBehaviour.SUBTRACTING) -> Loop:
    return Loop(make_settings(mode="eco+"), ECO_PLUS, behaviour, pv_w=6000.0)


def test_eco_plus_starts_after_the_start_delay_and_settles_at_a_small_export() -> None:
    loop = eco_plus_loop()
    loop.step(30)
    assert loop.status.phase is ControlPhase.WAITING
    assert loop.ev.current_a == 0.0
    took = 30 + loop.run_until(charging, START_S)
    assert TUNING.start_delay_s <= took <= TUNING.start_delay_s + 15
    loop.step(60)
    assert -TUNING.eco_plus_export_margin_w - 200 <= loop.net_w() <= 0.0
    assert 6.0 <= loop.ev.current_a <= 8.0


def test_eco_plus_with_an_integrating_charger_settles_too() -> None:
    loop = eco_plus_loop(ChargerBehaviour.INTEGRATING)
    loop.run_until(charging, START_S)
    loop.step(90)
    assert -TUNING.eco_plus_export_margin_w - 250 <= loop.net_w() <= 50.0


def test_eco_plus_holds_the_minimum_through_a_short_cloud() -> None:
    loop = eco_plus_loop()
    loop.run_until(charging, START_S)
    loop.step(600)
    loop.pv_w = 5200.0  # a thin cloud: the surplus no longer carries the minimum
    phases = set()
    for _ in range(45):
        loop.step()
        phases.add(loop.status.phase)
    assert ControlPhase.HOLDING in phases
    assert ControlPhase.OFF not in phases
    held = 6.0 + TUNING.minimum_margin_a + TUNING.report_deadband_a
    assert 6.0 <= loop.ev.current_a <= held  # held at the minimum (plus its margin)
    loop.pv_w = 6000.0
    loop.run_until(charging, 10)
    assert loop.ev.current_a > 6.0


def test_eco_plus_stops_after_a_long_deficit_and_keeps_the_minimum_off_time() -> None:
    loop = eco_plus_loop()
    loop.run_until(charging, START_S)
    loop.step(30)
    loop.pv_w = 3500.0
    took = loop.run_until(lambda lp: lp.status.phase is ControlPhase.OFF, 400)
    assert took <= TUNING.stop_delay_s + 1
    loop.step(5)
    assert loop.ev.current_a == 0.0
    # The sun is back at once, but the charger stays off for the minimum off time.
    loop.pv_w = 6000.0
    for _ in range(int(TUNING.min_off_s) - 10):
        loop.step()
        assert loop.ev.current_a == 0.0
    loop.run_until(lambda lp: lp.ev.current_a > 0.0, 40)


def test_eco_plus_caps_the_starts_per_hour() -> None:
    tuning = ControlTuning(start_delay_s=5, stop_delay_s=5, min_off_s=10, no_ev_retry_s=10)
    loop = Loop(make_settings(mode="eco+"), ECO_PLUS, tuning=tuning, pv_w=6000.0)
    for _ in range(40):  # a minute of sun, a minute of shade, for 80 minutes
        loop.pv_w = 6000.0
        loop.step(60)
        loop.pv_w = 1000.0
        loop.step(60)
    assert loop.status.starts_last_hour <= tuning.max_starts_per_hour
    assert loop.status.starts_last_hour >= 2


def test_eco_plus_gives_up_when_no_ev_draws_within_the_startup_time() -> None:
    settings = make_settings(mode="eco+", charger_startup_time_s=30)
    loop = Loop(settings, ECO_PLUS, pv_w=6000.0, ev_spec=EvSpec(plug_in_h=0.0, start_soc=1.0))
    loop.run_until(lambda lp: lp.status.phase is ControlPhase.STARTING, START_S)
    took = loop.run_until(lambda lp: lp.status.phase is ControlPhase.OFF, 60)
    assert 29 <= took <= 31
    assert "startup time" in loop.status.reason


def test_eco_never_stops_for_lack_of_sun() -> None:
    loop = Loop(make_settings(mode="eco"), ECO, pv_w=0.0)
    loop.run_until(charging, 30)
    for _ in range(600):
        loop.step()
        assert loop.status.phase is ControlPhase.CHARGING
    # No surplus: exactly the minimum, nothing more drawn from the grid.
    assert 6.0 <= loop.ev.current_a <= 6.0 + TUNING.eco_minimum_margin_a + TUNING.report_deadband_a
    for step in range(1, 21):  # the sun comes out over 20 s
        loop.pv_w = 400.0 * step
        loop.step()
    loop.step(30)
    assert loop.ev.current_a > 9.0  # the surplus on top of the minimum
    # No export aimed at: the grid sits within the smallest change asked for of zero.
    assert abs(loop.net_w()) <= 3 * 230.0 * TUNING.report_deadband_a


def test_mode_change_takes_effect_at_once() -> None:
    loop = Loop(make_settings(mode="eco+"), ECO_PLUS, pv_w=0.0)
    loop.step(20)
    before = loop.status.phase
    loop.mode = ECO
    loop.step()
    after = loop.status.phase
    assert (before, after) == (ControlPhase.OFF, ControlPhase.STARTING)
    loop.run_until(charging, 20)


def test_capacity_instantaneous_keeps_the_import_under_the_cap() -> None:
    settings = make_settings(mode="capacity:6")
    data = settings.model_dump()
    data["control"]["capacity_averaging"] = "instantaneous"
    settings = type(settings).model_validate(data)
    loop = Loop(settings, ChargeMode(ModeKind.CAPACITY, 6), pv_w=0.0)
    loop.run_until(charging, 30)
    loop.step(30)
    assert 5400.0 <= loop.net_w() <= 6000.0
    loop.house_w = (2500.0, 300.0, 300.0)  # a kettle
    loop.step(5)
    assert loop.net_w() <= 6000.0
    loop.house_w = (5000.0, 3000.0, 300.0)  # more than the cap leaves for the minimum
    loop.run_until(lambda lp: lp.status.phase is ControlPhase.PAUSED, 5)
    loop.step(3)
    assert loop.ev.current_a == 0.0


def test_capacity_does_not_pause_for_the_last_seconds_of_a_quarter_within_the_cap() -> None:
    """The EV at its floor keeps the quarter a few watts over the budget's aim (3 % under the
    cap); in the quarter's last seconds the aim asks for steeply less. The cap still holds with
    the EV at its floor, so it goes on charging instead of a stop, a start and 2 min off."""
    house_w = (5820.0 - 6.55 * 690.0) / 3  # the aim leaves the EV 6.55 A, its floor is 6.5 A
    loop = Loop(
        make_settings(mode="capacity:6"),
        ChargeMode(ModeKind.CAPACITY, 6),
        pv_w=0.0,
        house_w=(house_w,) * 3,
    )
    loop.run_until(charging, 30)
    ends = []
    for second in range(2000):
        if second == 1800 - 40:
            loop.house_w = (house_w + 80.0,) * 3  # the last 40 s of the second quarter: +240 W
        loop.step()
        assert loop.ev.current_a > 0.0
        average = loop.status.quarter_average_w
        if loop.status.quarter_left_s == 1.0 and average is not None:
            ends.append(average)
    assert len(ends) == 2
    assert all(5820.0 < average <= 6000.0 for average in ends[1:])


def test_per_phase_protection_keeps_every_phase_under_the_grid_limit() -> None:
    loop = Loop(make_settings(mode="capacity:22"), ChargeMode(ModeKind.CAPACITY, 22), pv_w=0.0)
    loop.ev = type(loop.ev)(EvSpec(plug_in_h=0.0, max_current_a=32.0, start_latency_s=3.0))
    loop.house_w = (20 * 230.0, 300.0, 300.0)
    loop.run_until(charging, 40)
    loop.step(30)
    l1 = loop.grid_powers()[0] / 230.0
    assert l1 <= 32.0
    assert loop.ev.current_a >= 10.0


def test_a_one_phase_ev_is_detected_on_a_three_phase_grid() -> None:
    ev = EvSpec(phases=1, max_current_a=32.0, plug_in_h=0.0, start_latency_s=3.0)
    loop = Loop(make_settings(mode="eco"), ECO, ev_spec=ev, pv_w=4000.0)
    loop.run_until(charging, 30)
    loop.step(20)
    assert loop.status.ev_phases == 1
    assert loop.status.ev_phases_detected
    assert abs(loop.status.ev_current_a - loop.ev.current_a) < 1.0
    assert loop.net_w() <= 0.0  # 1-phase surplus tracking: 230 W per ampere


def test_one_phase_grid() -> None:
    ev = EvSpec(phases=1, max_current_a=32.0, plug_in_h=0.0, start_latency_s=3.0)
    loop = Loop(make_settings(phases=1, mode="eco+"), ECO_PLUS, ev_spec=ev, pv_w=3500.0)
    loop.run_until(charging, START_S)
    loop.step(30)
    expected = (3500.0 - 900.0 - TUNING.eco_plus_export_margin_w) / 230.0
    assert abs(loop.ev.current_a - expected) < 1.0
    assert loop.report is not None
    assert loop.report.phases[1].current_a == 0.0


def test_an_ev_that_stops_by_itself_is_noticed() -> None:
    loop = eco_plus_loop()
    loop.run_until(charging, START_S)
    loop.step(60)
    loop.ev.full = True  # the battery is full: the car ends the session
    loop.ev.current_a = 0.0
    loop.run_until(lambda lp: lp.status.phase is ControlPhase.OFF, 3)
    assert loop.status.ev_current_a == 0.0
    assert "stopped" in loop.status.reason


def test_an_ev_limited_below_the_offer_is_probed_and_not_asked_for_more() -> None:
    ev = EvSpec(max_current_a=8.0, plug_in_h=0.0, start_latency_s=3.0)
    loop = Loop(make_settings(mode="eco"), ECO, ev_spec=ev, pv_w=9000.0)
    loop.run_until(charging, 30)
    loop.step(120)  # asked for more than 8 A for long enough: probed, then capped
    assert loop.ev.current_a == 8.0
    assert loop.status.target_a is not None
    assert loop.status.target_a <= 8.0 + TUNING.limited_headroom_a + 1e-6
    assert abs(loop.status.ev_current_a - 8.0) < 0.5
