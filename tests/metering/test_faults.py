"""A flagged window is never silently wrong: every fault shows, and values stay safe."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.grid import Direction, Fault, GridReading
from appliance.metering import EngineState, measure_window
from appliance.sim import ScenarioSignals, parse_scenario
from drivers.adc.base import SampleBlock
from tests.metering.synth import ADS131M04, MCP3208, Converter, engine_config, synth_block

STEADY = """
name = "steady"
network = "star"
[[load]]
phase = "all"
current_a = 6.0
power_factor = 0.95
"""


def measure(block: SampleBlock, converter: Converter = ADS131M04) -> GridReading:
    config = engine_config(converter.kind, "star")
    reading, _ = measure_window(block, config, EngineState(), monotonic_s=1.0, wall_time_s=2.0)
    return reading


def signals(extra: str = "") -> ScenarioSignals:
    return ScenarioSignals(parse_scenario(STEADY + extra))


def test_an_unplugged_ct_is_flagged_on_its_phase_only() -> None:
    grid = signals('[[fault]]\nkind = "ct_unplugged"\nphase = 2\n')
    for converter in (MCP3208, ADS131M04):
        reading = measure(synth_block(grid, 10.0, converter), converter)
        missing = reading.phases[1]
        assert missing.faults == {Fault.CT_MISSING}
        assert missing.current_a == 0.0
        assert missing.direction is Direction.NONE
        assert reading.valid, "the window itself stays usable"
        for phase in (reading.phases[0], reading.phases[2]):
            assert not phase.faults
            assert abs(phase.current_a - 6.0) < 0.06


def test_a_clipped_channel_is_flagged() -> None:
    grid = signals("[[load]]\nphase = 3\ncurrent_a = 150.0\n")
    for converter in (MCP3208, ADS131M04):
        reading = measure(synth_block(grid, 10.0, converter), converter)
        assert Fault.CLIPPED in reading.phases[2].faults
        assert not reading.phases[0].faults


def test_no_voltage_keeps_currents_but_drops_power_and_direction() -> None:
    grid = signals('[[fault]]\nkind = "voltage_lost"\n')
    reading = measure(synth_block(grid, 10.0))
    assert Fault.NO_VOLTAGE in reading.faults
    assert not reading.valid
    assert reading.frequency_hz is None
    for phase in reading.phases:
        assert abs(phase.current_a - 6.0) < 0.06
        assert phase.power_w == 0.0
        assert phase.direction is Direction.NONE


def test_a_low_voltage_below_50_v_is_no_voltage() -> None:
    grid = ScenarioSignals(parse_scenario(STEADY + "[grid]\nvoltage_v = 45.0\n"))
    assert Fault.NO_VOLTAGE in measure(synth_block(grid, 10.0)).faults
    grid = ScenarioSignals(parse_scenario(STEADY + "[grid]\nvoltage_v = 60.0\n"))
    assert Fault.NO_VOLTAGE not in measure(synth_block(grid, 10.0)).faults


def test_crc_errors_and_missed_frames_beyond_tolerance_make_a_bad_window() -> None:
    grid = signals()
    assert measure(synth_block(grid, 10.0, crc_errors=1)).valid
    for block in (synth_block(grid, 10.0, crc_errors=40), synth_block(grid, 10.0, missed_frames=9)):
        reading = measure(block)
        assert reading.faults == {Fault.BAD_WINDOW}
        assert not reading.valid
        assert all(p.current_a == 0.0 and p.power_w == 0.0 for p in reading.phases)


def test_a_gap_in_the_timestamps_makes_a_bad_window() -> None:
    block = synth_block(signals(), 10.0)
    keep = np.r_[0:1000, 1100 : block.sample_count]
    gapped = replace(block, codes=block.codes[:, keep], times_s=block.times_s[:, keep])
    assert measure(gapped).faults == {Fault.BAD_WINDOW}


def test_a_dead_converter_is_a_bad_window_and_an_empty_block_no_data() -> None:
    block = synth_block(signals(), 10.0)
    stuck = replace(block, codes=np.full_like(block.codes, block.code_max))
    assert measure(stuck).faults == {Fault.BAD_WINDOW}
    empty = replace(block, codes=block.codes[:, :0], times_s=block.times_s[:, :0])
    assert measure(empty).faults == {Fault.NO_DATA}


def test_a_flagged_window_resets_directions_and_keeps_energy() -> None:
    config = engine_config("ads131m04", "star")
    grid = signals()
    state = EngineState()
    for second in range(3):
        _, state = measure_window(
            synth_block(grid, 10.0 + second), config, state, monotonic_s=second, wall_time_s=0
        )
    assert state.directions == (Direction.IMPORT,) * 3
    energy = state.import_energy_kwh
    assert abs(energy - 3 * 3 * 230 * 6 * 0.95 / 3.6e6) < 0.01 * energy
    bad = synth_block(grid, 13.0, crc_errors=100)
    reading, state = measure_window(bad, config, state, monotonic_s=3, wall_time_s=0)
    assert state.directions == (Direction.NONE,) * 3
    assert state.import_energy_kwh == energy == reading.import_energy_kwh


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(0, 3000),
    stuck_rows=st.sets(st.integers(0, 3)),
)
def test_garbage_never_crashes_and_is_never_silently_wrong(
    seed: int, count: int, stuck_rows: set[int]
) -> None:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4096, size=(4, count)).astype(np.int32)
    for row in stuck_rows:
        codes[row] = 0
    times = np.sort(rng.uniform(0.0, 1.0, size=(4, count)), axis=1)
    block = SampleBlock(("voltage", "ct1", "ct2", "ct3"), codes, times, 3.3 / 4096, 0, 4095)
    reading = measure(block, MCP3208)
    values = [reading.frequency_hz or 0.0] + [p.current_a for p in reading.phases]
    assert all(np.isfinite(values))
    assert not reading.valid or reading.all_faults(), "noise is not a mains measurement"
