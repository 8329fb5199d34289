"""LED patterns (manual 3.6, SPEC) at 0, 1, 10, 39, 40 and 60 A with an injected clock."""

from __future__ import annotations

import pytest

from appliance.clock import FakeClock
from appliance.grid import Fault, GridReading, PhaseReading
from appliance.panel.leds import led_states, next_cs_change
from tests.p1.helpers import phase, reading


def total(amperes: float) -> GridReading:
    third = amperes / 3
    return reading(phase(third, third * 230), phase(third, third * 230), phase(third, third * 230))


def lit_ms(amperes: float, clock: FakeClock) -> int:
    """Milliseconds CS is lit during one 1-s period, sampled every millisecond."""
    r = total(amperes)
    clock.advance(1.0 - clock.monotonic() % 1.0)  # start of a period
    on = 0
    for _ in range(1000):
        on += led_states(r, False, clock.monotonic()).cs
        clock.advance(0.001)
    return on


@pytest.mark.parametrize(
    ("amperes", "expected_ms"), [(0, 0), (1, 25), (10, 250), (39, 975), (40, 1000), (60, 1000)]
)
def test_cs_on_time_per_second(amperes: float, expected_ms: int, clock: FakeClock) -> None:
    assert abs(lit_ms(amperes, clock) - expected_ms) <= 1


def test_cs_off_without_ct_or_without_valid_data(clock: FakeClock) -> None:
    missing = PhaseReading(12.0, 2760.0, 230.0, faults=frozenset({Fault.CT_MISSING}))
    no_ct = reading(missing, missing, missing)
    stale = reading(
        phase(10, 2300), phase(10, 2300), phase(10, 2300), faults=frozenset({Fault.NO_DATA})
    )
    for r in (no_ct, stale, None):
        assert not led_states(r, False, clock.monotonic()).cs
        assert next_cs_change(r, clock.monotonic()) is None


def test_p1_mirrors_request_and_pwr_is_on(clock: FakeClock) -> None:
    assert led_states(None, True, clock.monotonic()).p1
    assert not led_states(None, False, clock.monotonic()).p1
    assert led_states(None, False, clock.monotonic()).pwr


def test_next_change_points_at_the_blink_edges(clock: FakeClock) -> None:
    r = total(10)
    clock.advance(1.0 - clock.monotonic() % 1.0)
    start = clock.monotonic()
    assert next_cs_change(r, start) == pytest.approx(start + 0.25)
    assert next_cs_change(r, start + 0.3) == pytest.approx(start + 1.0)
    assert next_cs_change(total(45), start) is None  # continuously on
