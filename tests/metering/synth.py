"""Sample blocks synthesised straight from primary signals, for testing the engine alone.

A deliberately simple converter model (ideal sampling instants, Gaussian noise, rounding,
clipping) so the engine's maths can be checked without the drivers' fake chips in the way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from appliance.metering.config import HAT_FRONT_ENDS, MeteringConfig
from appliance.settings import Settings
from drivers.adc.base import SampleBlock
from drivers.adc.signals import SIGNAL_ROLES, PrimarySignals


@dataclass(frozen=True)
class Converter:
    kind: str
    rate_hz: float  # samples per second per channel
    volts_per_code: float
    code_min: int
    code_max: int
    bias_v: float  # idle input level
    unplugged_v: float  # level of a channel whose CT jack is empty
    sequential: bool  # channels one after another (MCP3208) or simultaneous (ADS131M04)
    noise_v: float


MCP3208 = Converter("mcp3208", 5000.0, 3.3 / 4096, 0, 4095, 1.65, 0.0, True, 0.4e-3)
ADS131M04 = Converter("ads131m04", 4000.0, 1.2 / 2**23, -(2**23), 2**23 - 1, 0.0, 0.6, False, 20e-6)


def synth_block(
    signals: PrimarySignals,
    start_s: float,
    converter: Converter = ADS131M04,
    *,
    duration_s: float = 1.0,
    ct_ratio: float = 2000.0,
    burden_ohm: float = 20.0,
    seed: int = 0,
    crc_errors: int = 0,
    missed_frames: int = 0,
) -> SampleBlock:
    count = round(duration_s * converter.rate_hz)
    base = start_s + np.arange(count) / converter.rate_hz
    roles = SIGNAL_ROLES
    times = np.zeros((len(roles), count))
    for row in range(len(roles)):
        offset = row / (len(roles) * converter.rate_hz) if converter.sequential else 0.0
        times[row] = base + offset
    pin = np.zeros_like(times)
    for row in range(len(roles)):
        primary = signals.primary(times[row])[row]
        scale = (
            1.0 / HAT_FRONT_ENDS[converter.kind].voltage_ratio
            if row == 0
            else burden_ohm / ct_ratio
        )
        pin[row] = converter.bias_v + primary * scale
    faults = signals.faults(start_s)
    for phase, unplugged in enumerate(faults.ct_unplugged):
        if unplugged:
            pin[phase + 1] = converter.unplugged_v
    rng = np.random.default_rng(seed)
    pin += rng.normal(0.0, converter.noise_v, pin.shape)
    codes = np.clip(np.rint(pin / converter.volts_per_code), converter.code_min, converter.code_max)
    return SampleBlock(
        roles=roles,
        codes=codes.astype(np.int32),
        times_s=times,
        volts_per_code=converter.volts_per_code,
        code_min=converter.code_min,
        code_max=converter.code_max,
        crc_errors=crc_errors,
        missed_frames=missed_frames,
    )


def sine_block(
    *,
    voltage_rms: float,
    currents: tuple[tuple[float, float], ...],
    frequency_hz: float = 50.0,
    start_s: float = 100.0,
    converter: Converter = ADS131M04,
    ct_ratio: float = 2000.0,
    burden_ohm: float = 20.0,
    noise: bool = False,
) -> SampleBlock:
    """A 1-phase-per-CT block of pure sines: `currents` = (rms A, lag in degrees) per CT.

    Every CT is referred to the L1 voltage (as in a 1-phase or an all-on-L1 test rig).
    """
    count = round(converter.rate_hz)
    base = start_s + np.arange(count) / converter.rate_hz
    times = np.zeros((4, count))
    pin = np.zeros((4, count))
    omega = 2 * np.pi * frequency_hz
    for row in range(4):
        offset = row / (4 * converter.rate_hz) if converter.sequential else 0.0
        times[row] = base + offset
    volts_per_volt = 1.0 / HAT_FRONT_ENDS[converter.kind].voltage_ratio
    pin[0] = np.sqrt(2) * voltage_rms * np.sin(omega * times[0]) * volts_per_volt
    for ct, (rms, lag_deg) in enumerate(currents, start=1):
        wave = np.sqrt(2) * rms * np.sin(omega * times[ct] - np.radians(lag_deg))
        pin[ct] = wave * burden_ohm / ct_ratio
    pin += converter.bias_v
    if noise:
        pin += np.random.default_rng(0).normal(0.0, converter.noise_v, pin.shape)
    codes = np.clip(np.rint(pin / converter.volts_per_code), converter.code_min, converter.code_max)
    return SampleBlock(
        roles=SIGNAL_ROLES,
        codes=codes.astype(np.int32),
        times_s=times,
        volts_per_code=converter.volts_per_code,
        code_min=converter.code_min,
        code_max=converter.code_max,
    )


def engine_config(
    adc: str = "ads131m04",
    network: str = "single",
    rotation: str = "right",
    burden_ohm: float = 20.0,
) -> MeteringConfig:
    """The engine's configuration for the synthetic converters (the settings' path).

    The synthetic converters sample ideally (no sinc filter), so there is no droop to undo.
    """
    base = Settings()
    grid = base.grid.model_dump() | {
        "phases": 1 if network == "single" else 3,
        "network": network,
        "rotation": rotation,
    }
    metering = base.metering.model_dump() | {"adc": adc, "burden_ohm": burden_ohm}
    settings = Settings.model_validate(base.model_dump() | {"grid": grid, "metering": metering})
    config = MeteringConfig.from_settings(settings)
    return replace(config, front_end=replace(config.front_end, sinc_order=0))
