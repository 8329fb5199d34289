"""Direction: right at >= 1 A and |PF| >= 0.2, none below 0.15 A, and it never flaps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.grid import Direction
from appliance.metering import EngineState, Thresholds, measure_window, next_direction
from appliance.sim import ScenarioSignals, parse_scenario
from tests.metering.synth import ADS131M04, MCP3208, engine_config, synth_block

TH = Thresholds()


def one_phase(current_a: float, pf: float, direction: str = "import") -> ScenarioSignals:
    return ScenarioSignals(
        parse_scenario(
            f'name = "t"\nnetwork = "single"\n[[load]]\ncurrent_a = {current_a}\n'
            f'power_factor = {pf}\ndirection = "{direction}"\n'
        )
    )


def directions(grid: ScenarioSignals, kind: str, seconds: int = 6) -> list[Direction]:
    converter = MCP3208 if kind == "mcp3208" else ADS131M04
    config = engine_config(kind, "single")
    state = EngineState()
    seen = []
    for second in range(seconds):
        block = synth_block(grid, 50.0 + second, converter, seed=second)
        reading, state = measure_window(block, config, state, monotonic_s=second, wall_time_s=0)
        seen.append(reading.phases[0].direction)
    return seen


def test_direction_is_right_from_1_a_at_pf_0_2_on_both_converters() -> None:
    for kind in ("mcp3208", "ads131m04"):
        for flow in ("import", "export"):
            expected = Direction(flow)
            assert directions(one_phase(1.0, 0.2, flow), kind) == [expected] * 6


def test_no_direction_below_0_15_a() -> None:
    for kind in ("mcp3208", "ads131m04"):
        assert set(directions(one_phase(0.12, 1.0), kind)) == {Direction.NONE}


def test_a_current_in_the_hysteresis_band_never_flaps() -> None:
    for kind in ("mcp3208", "ads131m04"):
        seen = directions(one_phase(0.175, 1.0), kind, seconds=10)
        assert len(set(seen)) == 1


@settings(max_examples=200)
@given(
    currents=st.lists(st.floats(0.0, 0.3), min_size=2, max_size=30),
    ratio=st.floats(0.0, 1.0),
)
def test_a_direction_changes_only_across_a_band(currents: list[float], ratio: float) -> None:
    """Between two opposite decisions, the input must have crossed a whole hysteresis band."""
    previous = Direction.NONE
    for current in currents:
        apparent = 230.0 * current
        new = next_direction(previous, current, ratio * apparent, apparent, TH)
        if new is not previous and new is not Direction.NONE:
            assert current >= TH.direction_on_a or previous is not Direction.NONE
            assert ratio >= TH.direction_on_pf
        if new is Direction.NONE and previous is not Direction.NONE:
            assert current < TH.direction_off_a or ratio < TH.direction_off_pf
        previous = new
