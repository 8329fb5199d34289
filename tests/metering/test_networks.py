"""Network types against the true values of the simulated grid (appliance.sim.reference)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from appliance.grid import Direction, GridReading
from appliance.metering import EngineState, measure_window
from appliance.sim import ScenarioSignals, load_scenario, parse_scenario
from appliance.sim.reference import TrueWindow, true_window
from tests.metering.synth import ADS131M04, engine_config, synth_block

SCENARIOS = Path(__file__).parents[2] / "examples" / "scenarios"


def run(grid: ScenarioSignals, start_s: float, network: str, rotation: str) -> GridReading:
    config = engine_config("ads131m04", network, rotation)
    state = EngineState()
    reading = None
    for second in range(2):
        block = synth_block(grid, start_s + second, ADS131M04, seed=second)
        reading, state = measure_window(block, config, state, monotonic_s=second, wall_time_s=0)
    assert reading is not None
    return reading


def assert_close(reading: GridReading, truth: TrueWindow, phases: int = 3) -> None:
    for measured, true in zip(reading.phases[:phases], truth.phases[:phases], strict=True):
        assert math.isclose(measured.current_a, true.current_a, rel_tol=2e-3, abs_tol=2e-3)
        assert abs(measured.power_w - true.power_w) <= 0.005 * true.apparent_power_va + 0.5
        assert math.isclose(measured.voltage_v, true.voltage_v, rel_tol=2e-3)


MIXED = """
name = "mixed"
network = "star"
rotation = "{rotation}"
[[load]]
phase = 1
current_a = 10.0
power_factor = 0.8
[[load]]
phase = 2
current_a = 7.0
direction = "export"
[[load]]
phase = 3
current_a = 3.0
power_factor = 0.5
reactive = "leading"
"""


@pytest.mark.parametrize("rotation", ["right", "left"])
def test_star_derives_l2_and_l3_from_l1_in_either_rotation(rotation: str) -> None:
    grid = ScenarioSignals(parse_scenario(MIXED.format(rotation=rotation)))
    reading = run(grid, 20.0, "star", rotation)
    assert_close(reading, true_window(grid, 21.0))
    assert [p.direction for p in reading.phases] == [
        Direction.IMPORT,
        Direction.EXPORT,
        Direction.IMPORT,
    ]


def test_a_wrong_rotation_setting_shows_as_wrong_power_factors() -> None:
    grid = ScenarioSignals(parse_scenario(MIXED.format(rotation="right")))
    reading = run(grid, 20.0, "star", "left")
    assert abs(reading.phases[1].power_factor - 1.0) > 0.3  # L2 is 120 degrees off


def test_single_phase_reports_one_phase() -> None:
    grid = ScenarioSignals(load_scenario(SCENARIOS / "single_phase.toml"))
    reading = run(grid, 40.0, "single", "right")
    assert reading.phase_count == 1
    assert reading.phases[1].current_a == reading.phases[2].current_a == 0.0
    assert_close(reading, true_window(grid, 41.0), phases=1)
    assert reading.frequency_hz is not None
    assert abs(reading.frequency_hz - 49.9) < 0.005


@pytest.mark.parametrize("rotation", ["right", "left"])
def test_delta_line_values_add_up_to_the_two_wattmeter_total(rotation: str) -> None:
    grid = ScenarioSignals(
        parse_scenario(
            f'name = "d"\nnetwork = "delta"\nrotation = "{rotation}"\n'
            "[[load]]\nphase = 1\ncurrent_a = 12.0\npower_factor = 0.7\n"
            '[[load]]\nphase = 3\ncurrent_a = 5.0\ndirection = "export"\n'
        )
    )
    reading = run(grid, 30.0, "delta", rotation)
    truth = true_window(grid, 31.0)
    assert_close(reading, truth)
    assert math.isclose(truth.two_wattmeter_w, sum(p.power_w for p in truth.phases), rel_tol=1e-6)
    total_va = sum(p.apparent_power_va for p in truth.phases)
    assert abs(reading.total_power_w - truth.two_wattmeter_w) < 0.005 * total_va
    assert math.isclose(reading.voltage_l1_v, 230.0 / math.sqrt(3.0), rel_tol=2e-3)
