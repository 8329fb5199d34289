"""Quarter-hour budgeting: boundaries, catch-up bounds, the last minute, restart mid-quarter."""

from __future__ import annotations

import pytest

from appliance.control.quarter import QUARTER_S, QuarterBudget, QuarterState, quarter_index

Q0 = 1_780_272_000.0  # a quarter boundary (2026-06-01 00:00 UTC)
CAP = 5000.0


def feed(budget: QuarterBudget, start: float, seconds: int, power_w: float) -> None:
    for second in range(seconds):
        budget.add(start + second, power_w, 0.0)


def test_quarters_start_on_wall_clock_boundaries() -> None:
    assert quarter_index(Q0) == quarter_index(Q0 + 899.9)
    assert quarter_index(Q0 + 900.0) == quarter_index(Q0) + 1
    assert Q0 % QUARTER_S == 0


def test_fresh_quarter_allows_the_cap_with_margin() -> None:
    budget = QuarterBudget(margin=0.97)
    budget.add(Q0, 0.0, 0.0)
    assert budget.allowed_import_w(CAP, Q0 + 1) == pytest.approx(CAP * 0.97, rel=0.01)


def test_heavy_first_half_lowers_the_allowance_and_the_average_stays_under_the_cap() -> None:
    budget = QuarterBudget(margin=0.97)
    feed(budget, Q0, 450, 8000.0)
    allowed = budget.allowed_import_w(CAP, Q0 + 450)
    assert allowed == pytest.approx((CAP * 0.97 * 900 - 8000.0 * 450) / 450, rel=0.03)
    feed(budget, Q0 + 450, 450, allowed)
    figures = budget.figures(Q0 + 899)
    assert figures is not None
    assert figures.average_w <= CAP


def test_catch_up_is_bounded_and_there_is_no_boost_in_the_last_minute() -> None:
    budget = QuarterBudget(margin=0.97, catch_up=1.25, final_s=60)
    feed(budget, Q0, 600, 0.0)
    assert budget.allowed_import_w(CAP, Q0 + 600) == pytest.approx(CAP * 1.25)
    feed(budget, Q0 + 600, 250, 0.0)
    assert budget.allowed_import_w(CAP, Q0 + 850) == pytest.approx(CAP * 0.97)


def test_overspent_quarter_allows_nothing_then_the_next_quarter_starts_fresh() -> None:
    budget = QuarterBudget()
    feed(budget, Q0, 890, 6000.0)
    assert budget.allowed_import_w(CAP, Q0 + 890) == 0.0
    feed(budget, Q0 + 890, 11, 6000.0)  # crosses the boundary
    assert budget.allowed_import_w(CAP, Q0 + 901) == pytest.approx(CAP * 0.97, rel=0.02)


def test_restart_mid_quarter_continues_the_budget() -> None:
    before = QuarterBudget()
    feed(before, Q0, 300, 7000.0)
    saved = before.state
    assert saved is not None
    restored_state = QuarterState.from_json(saved.to_json())
    after = QuarterBudget()
    after.restore(restored_state)
    # Back after a 20 s gap: the gap is counted at the quarter's average so far.
    after.add(Q0 + 320, 7000.0, 0.0)
    state = after.state
    assert state is not None
    assert state.energy_j == pytest.approx(7000.0 * 320, rel=0.01)
    assert after.allowed_import_w(CAP, Q0 + 320) == pytest.approx(
        (CAP * 0.97 * 900 - 7000.0 * 320) / 580, rel=0.01
    )


def test_restart_uses_the_meter_register_when_there_is_one() -> None:
    before = QuarterBudget()
    for second in range(300):
        before.add(Q0 + second, 3600.0, 1000.0 + second * 0.001)
    saved = before.state
    assert saved is not None
    assert saved.meter_import_kwh_at_start == pytest.approx(1000.0)
    after = QuarterBudget()
    after.restore(saved)
    after.add(Q0 + 400, 3600.0, 1000.0 + 0.4)  # the meter counted 0.4 kWh meanwhile
    state = after.state
    assert state is not None
    assert state.energy_j == pytest.approx(0.4 * 3.6e6)


def test_a_saved_state_from_an_earlier_quarter_is_ignored() -> None:
    after = QuarterBudget()
    after.restore(QuarterState(quarter_index(Q0), 4_000_000.0, Q0 + 800))
    after.add(Q0 + 1000, 1000.0, 0.0)
    state = after.state
    assert state is not None
    assert state.index == quarter_index(Q0) + 1
    assert state.energy_j < 200_000.0


def test_only_the_last_minute_may_spend_the_margin_and_never_the_cap() -> None:
    budget = QuarterBudget(margin=0.97, final_s=60)
    aim = CAP * 0.97
    feed(budget, Q0, 880, aim + 20.0)  # a little over the aim, far under the cap
    assert budget.allowed_import_w(CAP, Q0 + 880) < aim  # the aim says: less
    assert budget.keeps_under(aim + 20.0, CAP, Q0 + 880)  # the cap says: it still fits
    assert not budget.keeps_under(CAP * 3, CAP, Q0 + 880)  # 20 s at 3x the cap would not
    early = QuarterBudget(margin=0.97, final_s=60)
    feed(early, Q0, 300, aim + 20.0)
    assert not early.keeps_under(aim + 20.0, CAP, Q0 + 300)  # earlier the margin stays whole
