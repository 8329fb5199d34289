"""Primary signals for driver tests: sines, DC levels and ramps, with scheduled faults."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from drivers.adc.signals import InputFaults

FloatArray = npt.NDArray[np.float64]


@dataclass
class Sines:
    """Every row a sine (RMS, phase in radians) plus DC, all at `frequency_hz`."""

    rms: tuple[float, float, float, float] = (230.0, 10.0, 20.0, 30.0)
    phase_rad: tuple[float, float, float, float] = (0.0, -0.3, -0.3, -0.3)
    dc: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    frequency_hz: float = 50.0
    fault_schedule: Callable[[float], InputFaults] = field(default=lambda _t: InputFaults())

    def primary(self, times_s: FloatArray) -> FloatArray:
        out = np.empty((4, len(times_s)))
        for row in range(4):
            angle = 2 * math.pi * self.frequency_hz * times_s + self.phase_rad[row]
            out[row] = self.dc[row] + self.rms[row] * math.sqrt(2) * np.sin(angle)
        return out

    def faults(self, time_s: float) -> InputFaults:
        return self.fault_schedule(time_s)


def dc(volts: float, amps: tuple[float, float, float], **kwargs: object) -> Sines:
    return Sines(rms=(0.0, 0.0, 0.0, 0.0), dc=(volts, *amps), **kwargs)  # type: ignore[arg-type]


@dataclass
class Ramp:
    """Row 0 rises linearly with time (volts per second from `origin_s`); the CTs carry 0 A."""

    volts_per_s: float
    origin_s: float = 0.0
    offset_v: float = 0.0

    def primary(self, times_s: FloatArray) -> FloatArray:
        out = np.zeros((4, len(times_s)))
        out[0] = self.offset_v + self.volts_per_s * (times_s - self.origin_s)
        return out

    def faults(self, time_s: float) -> InputFaults:
        return InputFaults()


def after(start_s: float, faults: InputFaults) -> Callable[[float], InputFaults]:
    """A schedule: no faults before `start_s`, `faults` from then on."""
    return lambda t: faults if t >= start_s else InputFaults()
