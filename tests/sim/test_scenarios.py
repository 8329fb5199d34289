"""Scenario files: the examples load, bad files give clear errors, signals are deterministic."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from appliance.errors import ScenarioError
from appliance.settings import Settings
from appliance.sim import PhaseCurrent, ScenarioSignals, load_scenario, parse_scenario
from appliance.sim.reference import true_window

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"
REQUIRED = ("household", "export_pv", "mixed_phases", "faults", "single_phase", "delta")


@pytest.mark.parametrize("name", REQUIRED)
def test_every_example_loads_and_fits_the_settings(name: str) -> None:
    scenario = load_scenario(EXAMPLES / f"{name}.toml")
    settings = scenario.apply_to(Settings())
    assert settings.grid.network == scenario.network
    samples = ScenarioSignals(scenario).primary(np.linspace(0.0, 1.0, 500))
    assert samples.shape == (4, 500)
    assert np.all(np.isfinite(samples))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'\n[[load]]\ncurrent_a = -1\n", "load.0.current_a"),
        ("name = 'x'\nnetwork = 'single'\n[[load]]\nphase = 2\n", "single-phase grid"),
        ("name = 'x'\nnetwork = 'delta'\n[[load]]\nphase = 2\n", "3-wire delta"),
        ("name = 'x'\n[[fault]]\nkind = 'ct_unplugged'\n", "needs the phase"),
        ("name = 'x'\n[[fault]]\nkind = 'meteor'\n", "fault.0.kind"),
        ("name = 'x'\nspeed = 3\n", "speed"),
        ("name = [", "not valid TOML"),
    ],
)
def test_bad_scenarios_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "nope.toml")


def test_signals_are_deterministic_whatever_the_call_pattern() -> None:
    scenario = load_scenario(EXAMPLES / "household.toml")
    times = np.linspace(100.0, 103.0, 3000)
    whole = ScenarioSignals(scenario).primary(times)
    pieces = ScenarioSignals(scenario)
    parts = np.concatenate([pieces.primary(chunk) for chunk in np.array_split(times, 7)], axis=1)
    assert np.array_equal(whole, parts)
    other_seed = ScenarioSignals(scenario, seed=99).primary(times)
    assert not np.array_equal(whole, other_seed)


def test_currents_power_factor_harmonics_and_direction_are_as_described() -> None:
    scenario = parse_scenario(
        "name = 'x'\nnetwork = 'single'\n[[load]]\ncurrent_a = 10.0\npower_factor = 0.5\n"
        "direction = 'export'\nharmonics = { 3 = 0.8, 5 = 0.6 }\n"
    )
    truth = true_window(ScenarioSignals(scenario), 5.0).phases[0]
    assert math.isclose(truth.current_a, 10.0, rel_tol=1e-9)
    fundamental = 10.0 / math.sqrt(2.0)
    assert math.isclose(truth.power_w, -230.0 * fundamental * 0.5, rel_tol=1e-9)


def test_frequency_steps_keep_the_voltage_continuous() -> None:
    scenario = parse_scenario(
        "name = 'x'\n[grid]\nfrequency_profile = [[0, 50.0], [10, 49.8], [20, 50.2]]\n"
    )
    signals = ScenarioSignals(scenario)
    assert signals.frequency(15.0) == 49.8
    times = np.linspace(9.99, 10.01, 2001)
    volts = signals.primary(times)[0]
    assert np.max(np.abs(np.diff(volts))) < 2 * 325 * 2 * math.pi * 50 * 1e-5


def test_faults_follow_the_timeline() -> None:
    signals = ScenarioSignals(load_scenario(EXAMPLES / "faults.toml"), origin_s=1000.0)
    assert signals.faults(1007.0).ct_unplugged == (False, True, False)
    assert signals.faults(1011.0).ct_unplugged == (False, False, False)
    assert signals.faults(1026.0).miso_bit_error_rate > 0
    assert signals.faults(1036.0).drop_drdy
    assert signals.faults(1046.0).chip_dead
    assert signals.primary(np.array([1016.0, 1016.005]))[0].tolist() == [0.0, 0.0]


def test_load_sources_add_current_in_closed_loop() -> None:
    scenario = parse_scenario("name = 'x'\nnetwork = 'star'\n")
    signals = ScenarioSignals(scenario)
    setpoint = {"amps": 16.0}

    def charger(_t: float) -> tuple[PhaseCurrent, PhaseCurrent, PhaseCurrent]:
        current = PhaseCurrent(setpoint["amps"], lag_deg=0.0)
        return (current, current, current)

    handle = signals.add_load_source(charger)
    truth = true_window(signals, 3.0)
    assert [round(p.current_a, 6) for p in truth.phases] == [16.0] * 3
    assert all(math.isclose(p.power_w, 230 * 16, rel_tol=1e-6) for p in truth.phases)
    setpoint["amps"] = 6.0  # the charger follows its new setpoint at once
    assert math.isclose(true_window(signals, 4.0).phases[1].current_a, 6.0, rel_tol=1e-9)
    signals.remove_load_source(handle)
    assert true_window(signals, 5.0).phases[2].current_a == 0.0
