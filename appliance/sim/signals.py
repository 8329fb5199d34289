"""The primary quantities at the HAT's inputs, generated from a scenario plus live load sources.

`ScenarioSignals` implements `drivers.adc.signals.PrimarySignals`: the fake ADC chips ask it for
L1 volts and CT primary amps at their own sample instants. Extra load sources (a simulated EV
charger, for instance) are added while it runs and load the grid in closed loop.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from appliance.sim.scenario import LoadSpec, Scenario
from drivers.adc.signals import InputFaults

FloatArray = npt.NDArray[np.float64]
SQRT2 = math.sqrt(2.0)
_TWO_PI = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class PhaseCurrent:
    """One phase's current from a load source.

    `lag_deg` is how far the current lags its phase voltage: 0 = resistive import,
    +60 = PF 0.5 lagging, 180 = export at PF 1.
    """

    rms_a: float
    lag_deg: float = 0.0


ThreePhaseCurrents = tuple[PhaseCurrent, PhaseCurrent, PhaseCurrent]
# A load source: scenario seconds -> the three phases' currents at that moment.
LoadSource = Callable[[float], ThreePhaseCurrents]

NO_CURRENT: ThreePhaseCurrents = (PhaseCurrent(0.0), PhaseCurrent(0.0), PhaseCurrent(0.0))


class ScenarioSignals:
    """Deterministic primaries for a scenario (same seed, same signals, for any call pattern).

    `origin_s` maps the chips' monotonic sample times to scenario time (scenario t = 0).
    """

    # Load sources are sampled once per this step (one mains cycle): they change slowly.
    SOURCE_STEP_S = 0.02

    def __init__(self, scenario: Scenario, seed: int | None = None, origin_s: float = 0.0) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.origin_s = origin_s
        self._sources: dict[int, LoadSource] = {}
        self._next_handle = 0
        self._lock = threading.Lock()
        self._freq_times, self._freq_values, self._freq_phases = self._frequency_table()

    # -- load sources ------------------------------------------------------------------------

    def add_load_source(self, source: LoadSource) -> int:
        """Add a load; returns a handle for `remove_load_source`. Thread-safe."""
        with self._lock:
            handle = self._next_handle
            self._next_handle += 1
            self._sources[handle] = source
            return handle

    def remove_load_source(self, handle: int) -> None:
        with self._lock:
            self._sources.pop(handle, None)

    # -- PrimarySignals ----------------------------------------------------------------------

    def primary(self, times_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        t = np.asarray(times_s, dtype=np.float64) - self.origin_s
        angle = self.voltage_angle(t)
        out = np.zeros((4, t.shape[0]))
        out[0] = SQRT2 * self.voltage_rms(t) * np.sin(angle)
        currents = self._phase_currents(t, angle)
        out[1:] = currents
        return out

    def faults(self, time_s: float) -> InputFaults:
        t = time_s - self.origin_s
        unplugged = [False, False, False]
        ber = 0.0
        dead = drop = False
        for fault in self.scenario.faults:
            if not fault.active(t):
                continue
            if fault.kind == "ct_unplugged" and fault.phase is not None:
                unplugged[fault.phase - 1] = True
            elif fault.kind == "miso_errors":
                ber = max(ber, fault.bit_error_rate)
            elif fault.kind == "chip_dead":
                dead = True
            elif fault.kind == "drop_drdy":
                drop = True
        return InputFaults(
            ct_unplugged=(unplugged[0], unplugged[1], unplugged[2]),
            miso_bit_error_rate=ber,
            chip_dead=dead,
            drop_drdy=drop,
        )

    # -- the physics -------------------------------------------------------------------------

    def voltage_rms(self, t: FloatArray) -> FloatArray:
        """RMS of the measured voltage (L1-N, or L1-L2 in delta) at scenario times `t`."""
        grid = self.scenario.grid
        if grid.voltage_profile:
            xs, ys = zip(*grid.voltage_profile, strict=True)
            volts: FloatArray = np.interp(
                t, np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
            )
        else:
            volts = np.full(t.shape, grid.voltage_v)
        for fault in self.scenario.faults:
            if fault.kind == "voltage_lost":
                stop = math.inf if fault.stop_s is None else fault.stop_s
                volts = np.where((t >= fault.start_s) & (t < stop), 0.0, volts)
        return volts

    def frequency(self, t: float) -> float:
        index = int(np.searchsorted(self._freq_times, t, side="right")) - 1
        return float(self._freq_values[max(index, 0)])

    def voltage_angle(self, t: FloatArray) -> FloatArray:
        """Phase angle (rad) of the measured voltage: the integral of the frequency."""
        index = np.clip(np.searchsorted(self._freq_times, t, side="right") - 1, 0, None)
        start = self._freq_times[index]
        return self._freq_phases[index] + _TWO_PI * self._freq_values[index] * (t - start)

    def phase_offsets(self) -> tuple[float, float, float]:
        """Angle (rad) of each phase's own voltage relative to the measured voltage.

        Star: L1, L2, L3 (L2 lags by 120 degrees in right rotation). Delta: the virtual star
        voltages V1n, V2n, V3n relative to the measured V12.
        """
        third = _TWO_PI / 3.0
        right = self.scenario.rotation == "right"
        lags = (0.0, third, 2 * third) if right else (0.0, 2 * third, third)
        base = 0.0
        if self.scenario.network == "delta":
            base = -math.pi / 6.0 if right else math.pi / 6.0
        return (base - lags[0], base - lags[1], base - lags[2])

    def phase_voltages(self, times_s: FloatArray) -> FloatArray:
        """The true voltage of each phase (delta: to the virtual star point), shape (3, n)."""
        t = np.asarray(times_s, dtype=np.float64) - self.origin_s
        angle = self.voltage_angle(t)
        amplitude = SQRT2 * self.voltage_rms(t)
        if self.scenario.network == "delta":
            amplitude = amplitude / math.sqrt(3.0)
        out = np.zeros((3, t.shape[0]))
        for index, offset in enumerate(self.phase_offsets()):
            if self.scenario.network == "single" and index > 0:
                continue
            out[index] = amplitude * np.sin(angle + offset)
        return out

    def _frequency_table(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Frequency steps with the voltage angle at each step (zero at scenario t = 0)."""
        grid = self.scenario.grid
        steps = sorted(grid.frequency_profile or [(0.0, grid.frequency_hz)])
        later = [step for step in steps if step[0] > 0.0]
        first_hz = ([step for step in steps if step[0] <= 0.0] or steps)[-1][1]
        times = np.asarray([0.0] + [step[0] for step in later])
        values = np.asarray([first_hz] + [step[1] for step in later])
        phases = np.zeros(times.shape)
        for k in range(1, times.shape[0]):
            phases[k] = phases[k - 1] + _TWO_PI * values[k - 1] * (times[k] - times[k - 1])
        return times, values, phases

    def _phase_currents(self, t: FloatArray, angle: FloatArray) -> FloatArray:
        out = np.zeros((3, t.shape[0]))
        offsets = self.phase_offsets()
        for index, load in enumerate(self.scenario.loads):
            amps = self._load_rms(load, index, t)
            if not np.any(amps):
                continue
            phases = (1, 2, 3) if load.phase == "all" else (load.phase,)
            for phase in phases:
                out[phase - 1] += _waveform(load, amps, angle + offsets[phase - 1])
        with self._lock:
            sources = list(self._sources.values())
        if sources:
            out += self._source_currents(sources, t, angle, offsets)
        if self.scenario.network == "delta":
            out[1] = -(out[0] + out[2])  # a 3-wire grid: what L1 and L3 take, L2 returns
        elif self.scenario.network == "single":
            out[1:] = 0.0
        return out

    def _load_rms(self, load: LoadSpec, index: int, t: FloatArray) -> FloatArray:
        if load.profile:
            xs, ys = zip(*sorted(load.profile), strict=True)
            amps = np.interp(t, np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
        else:
            amps = np.full(t.shape, load.current_a)
        stop = math.inf if load.stop_s is None else load.stop_s
        active = (t >= load.start_s) & (t < stop)
        if load.cycle_s is not None and load.on_s is not None:
            active &= np.mod(t - load.start_s, load.cycle_s) < load.on_s
        amps = np.where(active, amps, 0.0)
        if load.jitter > 0.0:
            amps = amps * self._jitter(index, load.jitter, t)
        return amps

    def _jitter(self, index: int, size: float, t: FloatArray) -> FloatArray:
        """A random factor per whole second, from (seed, load, second): call-order independent."""
        seconds = np.floor(t).astype(np.int64)
        factors = np.ones(t.shape)
        for second in np.unique(seconds):
            rng = np.random.default_rng([self.seed, index, int(second) & 0x7FFFFFFF])
            factors[seconds == second] = 1.0 + size * float(rng.uniform(-1.0, 1.0))
        return factors

    def _source_currents(
        self,
        sources: list[LoadSource],
        t: FloatArray,
        angle: FloatArray,
        offsets: tuple[float, float, float],
    ) -> FloatArray:
        out = np.zeros((3, t.shape[0]))
        steps = np.floor(t / self.SOURCE_STEP_S).astype(np.int64)
        for step in np.unique(steps):
            mask = steps == step
            when = float(step) * self.SOURCE_STEP_S
            for source in sources:
                for phase, current in enumerate(source(when)):
                    if current.rms_a == 0.0:
                        continue
                    lag = math.radians(current.lag_deg)
                    out[phase, mask] += (
                        SQRT2 * current.rms_a * np.sin(angle[mask] + offsets[phase] - lag)
                    )
        return out


def _waveform(load: LoadSpec, rms: FloatArray, phase_angle: FloatArray) -> FloatArray:
    """Instantaneous amps of one load: fundamental at its PF, harmonics locked to it."""
    lag = math.acos(load.power_factor)
    if load.reactive == "leading":
        lag = -lag
    if load.direction == "export":
        lag += math.pi
    fundamental_share = 1.0 / math.sqrt(1.0 + sum(r * r for r in load.harmonics.values()))
    base = phase_angle - lag
    wave = np.sin(base)
    for order, ratio in load.harmonics.items():
        wave = wave + ratio * np.sin(order * base)
    return SQRT2 * fundamental_share * rms * wave
