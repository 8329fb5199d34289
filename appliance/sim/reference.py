"""The true values of a simulated window, from the definitions, for tests and the bench.

Computed from the scenario's clean primary signals at a fine, cycle-synchronous grid, so the
numbers do not depend on the metering engine or on any converter model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from appliance.sim.signals import ScenarioSignals

_POINTS_PER_CYCLE = 512


@dataclass(frozen=True, slots=True)
class TruePhase:
    current_a: float  # true RMS
    power_w: float  # mean of v*i, signed
    voltage_v: float  # RMS of the phase voltage (delta: to the virtual star point)

    @property
    def apparent_power_va(self) -> float:
        return self.current_a * self.voltage_v


@dataclass(frozen=True, slots=True)
class TrueWindow:
    phases: tuple[TruePhase, TruePhase, TruePhase]
    frequency_hz: float
    measured_voltage_v: float  # RMS of the voltage the HAT measures (L1-N, or L1-L2 in delta)
    two_wattmeter_w: float  # V12*I1 + V32*I3 (meaningful in delta)


def true_window(signals: ScenarioSignals, start_s: float, duration_s: float = 1.0) -> TrueWindow:
    """True values over the whole mains cycles inside [start_s, start_s + duration_s)."""
    frequency = signals.frequency(start_s - signals.origin_s)
    cycles = max(1, math.floor(duration_s * frequency))
    count = cycles * _POINTS_PER_CYCLE
    times = start_s + np.arange(count) / (frequency * _POINTS_PER_CYCLE)
    primary = signals.primary(times)
    volts = signals.phase_voltages(times)
    phases = []
    for index in range(3):
        amps = primary[index + 1]
        phases.append(
            TruePhase(
                current_a=float(np.sqrt(np.mean(amps**2))),
                power_w=float(np.mean(volts[index] * amps)),
                voltage_v=float(np.sqrt(np.mean(volts[index] ** 2))),
            )
        )
    v12, v32 = volts[0] - volts[1], volts[2] - volts[1]
    two_wattmeter = float(np.mean(v12 * primary[1]) + np.mean(v32 * primary[3]))
    return TrueWindow(
        phases=(phases[0], phases[1], phases[2]),
        frequency_hz=frequency,
        measured_voltage_v=float(np.sqrt(np.mean(primary[0] ** 2))),
        two_wattmeter_w=two_wattmeter,
    )
