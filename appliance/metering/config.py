"""What the engine needs to know about the HAT and the installation, derived from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from appliance.settings import ChannelCalibration, Settings

Network = Literal["single", "star", "delta"]
Rotation = Literal["right", "left"]


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """The HAT's voltage reference path: mains volts per volt at the ADC pin.

    The current path needs no constant of its own: a CT with ratio N into a burden R gives
    `pin volts * N / R` primary amps; both come from the settings.
    """

    voltage_ratio: float
    # Order of the converter's sinc decimation filter (ADS131M0x: sinc3; SAR converters: 0).
    # Its droop (0.08 % at 50 Hz, 2 % at 250 Hz for sinc3 at 4 kSPS) is undone by the engine.
    sinc_order: int = 0


# The two HAT variants. The fake chips model the same parts (drivers/adc/*_fake.py).
# MCP3208: 230 V -> 0.8 V RMS (1.13 V peak around the 1.65 V mid-rail bias, 3.3 V reference).
# ADS131M04: 230 V -> 0.6 V RMS (0.85 V peak inside the +-1.2 V range at gain 1).
HAT_FRONT_ENDS: dict[str, FrontEnd] = {
    "mcp3208": FrontEnd(voltage_ratio=230.0 / 0.8),
    "ads131m04": FrontEnd(voltage_ratio=230.0 / 0.6, sinc_order=3),
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Noise floors and limits. Defaults match the accuracy targets in docs/metering.md."""

    no_voltage_v: float = 50.0  # below: NO_VOLTAGE, no power or direction
    zero_current_a: float = 0.05  # below: the noise floor, reported as 0 A
    direction_off_a: float = 0.15  # below: direction "none"
    direction_on_a: float = 0.20  # above: a direction may be chosen (hysteresis 0.15..0.20 A)
    direction_on_pf: float = 0.10  # |P|/S needed to choose or change a direction
    direction_off_pf: float = 0.05  # |P|/S below which the direction falls back to "none"
    ct_missing_offset_v: float = 0.25  # channel DC this far from the bias ...
    ct_missing_ac_v: float = 0.01  # ... with less AC than this (pin volts RMS): no CT
    max_lost_fraction: float = 0.002  # CRC errors + missed frames + gaps beyond this: BAD_WINDOW
    min_frequency_hz: float = 45.0
    max_frequency_hz: float = 65.0


@dataclass(frozen=True, slots=True)
class MeteringConfig:
    network: Network
    rotation: Rotation
    front_end: FrontEnd
    ct_ratio: float
    burden_ohm: float
    voltage_cal: ChannelCalibration
    current_cal: tuple[ChannelCalibration, ChannelCalibration, ChannelCalibration]
    thresholds: Thresholds = Thresholds()

    @property
    def amps_per_pin_volt(self) -> float:
        return self.ct_ratio / self.burden_ohm

    @staticmethod
    def from_settings(settings: Settings, front_end: FrontEnd | None = None) -> MeteringConfig:
        """The engine's view of the settings; `front_end` defaults to the HAT of `metering.adc`."""
        metering = settings.metering
        return MeteringConfig(
            network=settings.grid.network,
            rotation=settings.grid.rotation,
            front_end=front_end or HAT_FRONT_ENDS[metering.adc],
            ct_ratio=float(settings.grid.ct_ratio),
            burden_ohm=metering.burden_ohm,
            voltage_cal=metering.voltage,
            current_cal=metering.current,
        )
