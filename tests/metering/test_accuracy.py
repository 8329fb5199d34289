"""Accuracy and fault flags through the real drivers and their fake chips (a slice of the
bench matrix; `python -m bench.accuracy` runs all of it)."""

from __future__ import annotations

import pytest

from appliance.grid import Direction, Fault, GridReading
from appliance.metering import EngineState, MeteringConfig, measure_window
from appliance.settings import Settings
from appliance.sim import ScenarioSignals, parse_scenario
from appliance.sim.reference import true_window
from drivers.adc import open_simulated_adc

HARMONICS = {
    "sine": "{}",
    "ev": "{3 = 0.03, 5 = 0.03, 7 = 0.02}",
    "rectifier": "{3 = 0.8, 5 = 0.6}",
}
# Current error targets (% of reading): at 1 A, and from 2 A up.
TARGETS = {"mcp3208": (1.5, 0.5), "ads131m04": (0.3, 0.1)}


def scenario(current_a: float, pf: float, wave: str, hz: float, extra: str = "") -> ScenarioSignals:
    return ScenarioSignals(
        parse_scenario(
            f'name = "t"\nnetwork = "star"\n[grid]\nfrequency_hz = {hz}\n'
            f'[[load]]\nphase = "all"\ncurrent_a = {current_a}\npower_factor = {pf}\n'
            f"harmonics = {HARMONICS[wave]}\n{extra}"
        )
    )


def readings(adc: str, grid: ScenarioSignals, windows: int) -> list[tuple[GridReading, float]]:
    config = MeteringConfig.from_settings(
        Settings.model_validate(Settings().model_dump() | {"metering": {"adc": adc}})
    )
    driver = open_simulated_adc(adc, grid, 7, burden_ohm=config.burden_ohm)
    state = EngineState()
    out = []
    try:
        for second in range(windows):
            block = driver.read_block(1.0)
            reading, state = measure_window(block, config, state, monotonic_s=second, wall_time_s=0)
            out.append((reading, float(block.times_s[0, 0])))
    finally:
        driver.close()
    return out


@pytest.mark.parametrize(
    ("adc", "current_a", "pf", "wave", "hz"),
    [
        ("mcp3208", 1.0, 1.0, "sine", 50.0),
        ("mcp3208", 2.0, 0.2, "ev", 49.8),
        ("mcp3208", 16.0, 0.5, "rectifier", 50.2),
        ("mcp3208", 40.0, 0.5, "rectifier", 49.8),
        ("ads131m04", 1.0, 0.5, "rectifier", 50.2),
        ("ads131m04", 32.0, 0.2, "ev", 49.8),
    ],
)
def test_accuracy_within_the_targets(
    adc: str, current_a: float, pf: float, wave: str, hz: float
) -> None:
    grid = scenario(current_a, pf, wave, hz)
    target = TARGETS[adc][0 if current_a < 2 else 1]
    for reading, start in readings(adc, grid, 2):
        truth = true_window(grid, start)
        assert not reading.all_faults()
        assert reading.frequency_hz is not None
        assert abs(reading.frequency_hz - hz) < 0.005
        for measured, true in zip(reading.phases, truth.phases, strict=True):
            assert abs(measured.current_a / true.current_a - 1) * 100 <= target
            assert abs(measured.power_w - true.power_w) <= 0.01 * true.apparent_power_va
            assert measured.direction is Direction.IMPORT


def test_an_unplugged_ct_on_the_ads131m04_board() -> None:
    grid = scenario(6.0, 1.0, "sine", 50.0, '[[fault]]\nkind = "ct_unplugged"\nphase = 3\n')
    ((reading, _),) = readings("ads131m04", grid, 1)
    assert reading.phases[2].faults == {Fault.CT_MISSING}
    assert reading.phases[2].current_a == 0.0
    assert not reading.phases[0].faults


@pytest.mark.parametrize(
    ("adc", "fault"),
    [
        ("ads131m04", 'kind = "miso_errors"\nbit_error_rate = 1e-3'),
        ("ads131m04", 'kind = "drop_drdy"'),
        ("mcp3208", 'kind = "miso_errors"\nbit_error_rate = 1e-3\nstart_s = 0.5'),
    ],
)
def test_link_errors_make_bad_windows(adc: str, fault: str) -> None:
    grid = scenario(6.0, 1.0, "sine", 50.0, f"[[fault]]\n{fault}\n")
    reading = readings(adc, grid, 2)[-1][0]
    assert Fault.BAD_WINDOW in reading.faults
    assert not reading.valid
