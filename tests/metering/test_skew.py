"""The MCP3208 samples its channels one after another: without skew correction, low-PF power
is off by more than the target; with it, it is right."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from appliance.grid import PhaseReading
from appliance.metering import EngineState, measure_window
from appliance.settings import ChannelCalibration
from tests.metering.synth import MCP3208, engine_config, sine_block

PF = 0.2
LAG_DEG = math.degrees(math.acos(PF))


def measure(correct_skew: bool) -> PhaseReading:
    block = sine_block(voltage_rms=230.0, currents=((16.0, LAG_DEG),), converter=MCP3208)
    if not correct_skew:
        # Claim that every channel was sampled at the voltage's instants.
        block = replace(block, times_s=np.repeat(block.times_s[:1], 4, axis=0))
    reading, _ = measure_window(
        block, engine_config("mcp3208", "single"), EngineState(), monotonic_s=0, wall_time_s=0
    )
    return reading.phases[0]


def test_skew_correction_is_what_makes_low_pf_power_right() -> None:
    corrected, uncorrected = measure(correct_skew=True), measure(correct_skew=False)
    apparent = 230.0 * 16.0
    true_power = apparent * PF
    assert abs(corrected.power_w - true_power) < 0.002 * apparent
    assert abs(corrected.power_factor - PF) < 0.002
    assert abs(uncorrected.power_w - true_power) > 0.01 * apparent  # beyond the 1 % target
    assert abs(uncorrected.power_factor - PF) > 0.01


def test_gain_and_phase_calibration_correct_a_channel() -> None:
    # The CT's front end reads 2 % high and lags by 2 degrees: a PF 0.5 load looks like 0.47.
    block = sine_block(voltage_rms=230.0, currents=((10.2, 62.0),), converter=MCP3208)
    base = engine_config("mcp3208", "single")
    raw, _ = measure_window(block, base, EngineState(), monotonic_s=0, wall_time_s=0)
    assert abs(raw.phases[0].power_factor - 0.5) > 0.02
    fixed = ChannelCalibration(gain=1 / 1.02, phase_deg=2.0)
    config = replace(base, current_cal=(fixed, base.current_cal[1], base.current_cal[2]))
    reading, _ = measure_window(block, config, EngineState(), monotonic_s=0, wall_time_s=0)
    assert abs(reading.phases[0].current_a - 10.0) < 0.01
    assert abs(reading.phases[0].power_factor - 0.5) < 0.002
