"""Properties of the engine that hold for any sine: RMS, quadrature, scaling, sign."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.grid import Direction, GridReading
from appliance.metering import EngineState, measure_window
from tests.metering.synth import ADS131M04, MCP3208, engine_config, sine_block

CONFIG = engine_config("ads131m04", "single")
amps = st.floats(min_value=1.0, max_value=60.0)
hertz = st.floats(min_value=49.5, max_value=50.5)
lags = st.floats(min_value=-85.0, max_value=85.0)


def measure(current_a: float, lag_deg: float, frequency_hz: float = 50.0) -> GridReading:
    block = sine_block(
        voltage_rms=230.0, currents=((current_a, lag_deg),), frequency_hz=frequency_hz
    )
    reading, _ = measure_window(block, CONFIG, EngineState(), monotonic_s=0.0, wall_time_s=0.0)
    return reading


@settings(max_examples=30, deadline=None)
@given(rms=amps, frequency_hz=hertz)
def test_a_sine_of_amplitude_a_gives_a_over_sqrt2(rms: float, frequency_hz: float) -> None:
    amplitude = rms * math.sqrt(2.0)
    reading = measure(rms, 0.0, frequency_hz)
    assert math.isclose(reading.phases[0].current_a, amplitude / math.sqrt(2.0), rel_tol=1e-3)
    assert math.isclose(reading.voltage_l1_v, 230.0, rel_tol=1e-3)
    assert reading.frequency_hz is not None
    assert abs(reading.frequency_hz - frequency_hz) < 0.005


@settings(max_examples=20, deadline=None)
@given(rms=amps, frequency_hz=hertz)
def test_a_90_degree_shift_gives_zero_power(rms: float, frequency_hz: float) -> None:
    for lag in (90.0, -90.0):
        phase = measure(rms, lag, frequency_hz).phases[0]
        assert abs(phase.power_w) < 0.002 * phase.apparent_power_va
        assert phase.direction is Direction.NONE


@settings(max_examples=20, deadline=None)
@given(rms=st.floats(min_value=1.0, max_value=20.0), lag=lags, factor=st.floats(1.5, 3.0))
def test_scaling_the_current_scales_the_power(rms: float, lag: float, factor: float) -> None:
    small = measure(rms, lag).phases[0].power_w
    large = measure(rms * factor, lag).phases[0].power_w
    assert math.isclose(large, factor * small, rel_tol=2e-3, abs_tol=0.002 * 230 * rms * factor)


@settings(max_examples=30, deadline=None)
@given(rms=amps, lag=st.floats(min_value=-78.0, max_value=78.0), export=st.booleans())
def test_the_sign_of_power_follows_the_direction(rms: float, lag: float, export: bool) -> None:
    phase = measure(rms, lag + (180.0 if export else 0.0)).phases[0]
    assert phase.direction is (Direction.EXPORT if export else Direction.IMPORT)
    assert (phase.power_w < 0) == export
    assert phase.signed_current_a == (-phase.current_a if export else phase.current_a)
    assert math.isclose(phase.power_factor, math.cos(math.radians(lag)), abs_tol=2e-3)


def test_power_matches_v_i_cos_phi_on_both_converters() -> None:
    for converter in (MCP3208, ADS131M04):
        config = engine_config(converter.kind, "single")
        block = sine_block(
            voltage_rms=230.0, currents=((16.0, 60.0),), converter=converter, noise=True
        )
        reading, _ = measure_window(block, config, EngineState(), monotonic_s=0, wall_time_s=0)
        assert math.isclose(reading.phases[0].power_w, 230 * 16 * 0.5, rel_tol=0.01)
