"""One window of samples in, one `GridReading` out.

Method (details and measured accuracy in docs/metering.md):

1. Codes become pin volts; the L1 voltage loses its DC and is scaled to mains volts.
2. Rising zero crossings of the voltage (linear interpolation between samples) give the
   frequency (least-squares fit of crossing time against cycle number) and an analysis span of
   whole cycles, so RMS and power carry no partial-cycle error.
3. Each current channel loses its DC over that span. The voltage is interpolated to the instant
   of every current sample (corrects the MCP3208's sequential sampling and the calibrated phase
   error of each channel); star and delta derive the other phases' voltages by delaying L1 by
   1/3 and 2/3 of the measured period.
4. RMS, signed active power (mean of v*i), power factor, and a direction with hysteresis that is
   carried between windows in `EngineState`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from appliance.grid import Direction, Fault, GridReading, PhaseReading, Source
from appliance.metering.config import MeteringConfig, Thresholds
from appliance.metering.window import CURRENT_ROLES, VOLTAGE_ROLE, SampleWindow

FloatArray = npt.NDArray[np.float64]
_NO_DIRECTIONS = (Direction.NONE, Direction.NONE, Direction.NONE)
_MIN_SAMPLES = 64  # fewer than this cannot hold a mains cycle at any supported rate
_JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True, slots=True)
class EngineState:
    """What carries from one window to the next: directions (hysteresis) and energy."""

    directions: tuple[Direction, Direction, Direction] = _NO_DIRECTIONS
    import_energy_kwh: float = 0.0
    export_energy_kwh: float = 0.0


@dataclass(frozen=True, slots=True)
class _Voltage:
    times: FloatArray  # sample instants of the voltage channel
    values: FloatArray  # mains volts, DC removed
    rms_v: float
    frequency_hz: float | None
    span: tuple[float, float]  # analysis span: whole cycles when the frequency is known
    clipped: bool


@dataclass(frozen=True, slots=True)
class _Current:
    times: FloatArray  # instants of the samples in the analysis span, phase-corrected
    amps: FloatArray  # primary amps, DC removed
    missing: bool
    clipped: bool


@dataclass(frozen=True, slots=True)
class _Measured:
    current_a: float
    power_w: float
    voltage_v: float
    faults: frozenset[Fault]


def measure_window(
    window: SampleWindow,
    config: MeteringConfig,
    state: EngineState,
    *,
    monotonic_s: float,
    wall_time_s: float,
) -> tuple[GridReading, EngineState]:
    """Measure one window. Pure: the same inputs always give the same reading and state."""
    th = config.thresholds
    phase_count = 1 if config.network == "single" else 3

    def flagged(fault: Fault) -> tuple[GridReading, EngineState]:
        reading = _empty_reading(monotonic_s, wall_time_s, phase_count, fault, state)
        return reading, replace(state, directions=_NO_DIRECTIONS)

    if VOLTAGE_ROLE not in window.roles or _sample_count(window) < _MIN_SAMPLES:
        return flagged(Fault.NO_DATA)
    if _lost_samples(window) > max(1.0, th.max_lost_fraction * window.codes.shape[1]):
        return flagged(Fault.BAD_WINDOW)
    if all(int(np.ptp(row)) == 0 for row in window.codes):
        return flagged(Fault.BAD_WINDOW)  # every channel stuck on one code: a dead converter

    voltage = _measure_voltage(window, config)
    currents = [_extract_current(window, config, voltage, role) for role in CURRENT_ROLES]

    if voltage.frequency_hz is None:
        measured = [_current_only(c, voltage.rms_v) for c in currents]
    elif config.network == "delta":
        measured = _delta(voltage, currents, config)
    else:
        measured = _star_or_single(voltage, currents, config)

    window_faults = {Fault.NO_VOLTAGE} if voltage.frequency_hz is None else set()
    phases: list[PhaseReading] = []
    directions: list[Direction] = []
    for index in range(3):
        if index >= phase_count:
            phases.append(PhaseReading.absent())
            directions.append(Direction.NONE)
            continue
        m = measured[index]
        faults = set(m.faults)
        if voltage.clipped:
            faults.add(Fault.CLIPPED)
        phase, direction = _phase_reading(m, frozenset(faults), state.directions[index], th)
        if window_faults:
            phase = replace(phase, power_w=0.0, power_factor=0.0, direction=Direction.NONE)
            direction = Direction.NONE
        phases.append(phase)
        directions.append(direction)

    reading = GridReading(
        monotonic_s=monotonic_s,
        wall_time_s=wall_time_s,
        source=Source.CT,
        phases=(phases[0], phases[1], phases[2]),
        phase_count=phase_count,
        frequency_hz=voltage.frequency_hz,
        faults=frozenset(window_faults),
        import_energy_kwh=state.import_energy_kwh,
        export_energy_kwh=state.export_energy_kwh,
    )
    new_state = EngineState(
        directions=(directions[0], directions[1], directions[2]),
        import_energy_kwh=state.import_energy_kwh,
        export_energy_kwh=state.export_energy_kwh,
    )
    if reading.valid:
        new_state = _integrate_energy(new_state, reading.total_power_w, _duration_s(window))
        reading = replace(
            reading,
            import_energy_kwh=new_state.import_energy_kwh,
            export_energy_kwh=new_state.export_energy_kwh,
        )
    return reading, new_state


def _empty_reading(
    monotonic_s: float, wall_time_s: float, phase_count: int, fault: Fault, state: EngineState
) -> GridReading:
    absent = PhaseReading.absent()
    return GridReading(
        monotonic_s=monotonic_s,
        wall_time_s=wall_time_s,
        source=Source.CT,
        phases=(absent, absent, absent),
        phase_count=phase_count,
        frequency_hz=None,
        faults=frozenset({fault}),
        import_energy_kwh=state.import_energy_kwh,
        export_energy_kwh=state.export_energy_kwh,
    )


def no_data_reading(
    monotonic_s: float, wall_time_s: float, fault: Fault, state: EngineState, phase_count: int = 3
) -> GridReading:
    """The reading published when no window could be measured (ADC error, no samples)."""
    return _empty_reading(monotonic_s, wall_time_s, phase_count, fault, state)


def _sample_count(window: SampleWindow) -> int:
    codes = window.codes
    if codes.ndim != 2 or window.times_s.shape != codes.shape:
        return 0
    return int(codes.shape[1])


def _lost_samples(window: SampleWindow) -> float:
    """CRC-rejected frames, missed frames, and gaps in the voltage timestamps."""
    times = window.times_s[window.roles.index(VOLTAGE_ROLE)]
    steps = np.diff(times)
    typical = float(np.median(steps))
    if typical <= 0.0:
        return math.inf
    gaps = steps[steps > 1.5 * typical]
    gap_samples = float(np.sum(np.rint(gaps / typical) - 1.0))
    # A dropped frame usually leaves a gap too: count each loss once.
    lost = max(float(window.crc_errors + window.missed_frames), gap_samples)
    return lost + _glitches(window) + _dead_samples(window)


def _dead_samples(window: SampleWindow) -> int:
    """Instants where every channel sits on a rail at once: the converter stopped answering
    (MISO stuck high or low). No input, clipped or unplugged, does that to all channels."""
    codes = window.codes
    at_rail = (codes <= window.code_min) | (codes >= window.code_max)
    return int(np.count_nonzero(np.all(at_rail, axis=0)))


def _glitches(window: SampleWindow) -> int:
    """Samples that jump away from both neighbours by 1/16 of the range: a flipped high bit.

    Mains signals filtered at the HAT's input cannot bend that fast between two samples
    (a 60 % 5th harmonic at full scale bends by under 1/100 of the range at 4 kSPS); this is
    what catches MISO bit errors on a converter without a CRC (MCP3208).
    """
    codes = window.codes.astype(np.int64)
    if codes.shape[1] < 3:
        return 0
    bend = np.abs(2 * codes[:, 1:-1] - codes[:, :-2] - codes[:, 2:])
    limit = (window.code_max - window.code_min) // 16
    return int(np.count_nonzero(bend > 2 * limit))


def _duration_s(window: SampleWindow) -> float:
    times = window.times_s[0]
    count = int(times.shape[0])
    return float(times[-1] - times[0]) * count / (count - 1)


def _bias_v(window: SampleWindow) -> float:
    """The input level of an idle channel: mid-rail (MCP3208) or ground (ADS131M0x)."""
    return 0.5 * (window.code_min + window.code_max) * window.volts_per_code


def _pin_volts(
    codes: npt.NDArray[np.int32], window: SampleWindow, config: MeteringConfig
) -> FloatArray:
    """Codes as pin volts, with the converter's sinc droop undone.

    A sinc^N filter passes 1 - N (pi f/fs)^2 / 6 of a tone; the symmetric 3-tap filter
    [-a, 1 + 2a, -a] with a = N / 24 gains 1 + N (pi f/fs)^2 / 6: flat to 0.05 % up to the 5th
    harmonic, with no phase shift (the same on every channel, so power is unaffected).
    """
    volts = codes.astype(np.float64) * window.volts_per_code
    order = config.front_end.sinc_order
    if order and volts.shape[0] >= 3:
        a = order / 24.0
        inner = volts[1:-1]
        volts[1:-1] = inner + a * (2.0 * inner - volts[:-2] - volts[2:])
    return volts


def _is_clipped(codes: npt.NDArray[np.int32], window: SampleWindow) -> bool:
    return bool(np.any(codes <= window.code_min) or np.any(codes >= window.code_max))


def _measure_voltage(window: SampleWindow, config: MeteringConfig) -> _Voltage:
    th = config.thresholds
    row = window.roles.index(VOLTAGE_ROLE)
    codes = window.codes[row]
    times = np.asarray(window.times_s[row], dtype=np.float64)
    cal = config.voltage_cal
    scale = config.front_end.voltage_ratio * cal.gain
    pin = _pin_volts(codes, window, config) - cal.offset
    values = (pin - pin.mean()) * scale
    clipped = _is_clipped(codes, window)
    whole = (float(times[0]), float(times[-1]) + 1e-9)

    rms_all = float(np.sqrt(np.mean(values * values)))
    crossings = _rising_crossings(times, values, th) if rms_all >= th.no_voltage_v else None
    if crossings is None:
        return _Voltage(times, values, rms_all, None, whole, clipped)
    cycles, first, last = crossings
    frequency = cycles / (last - first) if last > first else 0.0
    if not th.min_frequency_hz <= frequency <= th.max_frequency_hz:
        return _Voltage(times, values, rms_all, None, whole, clipped)

    inside = (times >= first) & (times < last)
    values = values - values[inside].mean()  # exact DC removal over whole cycles
    rms = float(np.sqrt(np.mean(values[inside] ** 2)))
    if rms < th.no_voltage_v:
        return _Voltage(times, values, rms, None, whole, clipped)
    return _Voltage(times, values, rms, frequency, (first, last), clipped)


def _rising_crossings(
    times: FloatArray, values: FloatArray, th: Thresholds
) -> tuple[int, float, float] | None:
    """(whole cycles, first, last crossing time) fitted over all rising zero crossings."""
    below = values < 0.0
    index = np.flatnonzero(below[:-1] & ~below[1:])
    if index.size < 3:
        return None
    v0, v1 = values[index], values[index + 1]
    t0, t1 = times[index], times[index + 1]
    instants = t0 + (t1 - t0) * (-v0) / (v1 - v0)
    # Noise can add a second crossing right after a true one: keep one per half period.
    kept = [float(instants[0])]
    min_gap = 0.5 / th.max_frequency_hz
    for instant in instants[1:]:
        if instant - kept[-1] >= min_gap:
            kept.append(float(instant))
    if len(kept) < 3:
        return None
    kept_arr = np.asarray(kept)
    period_guess = float(np.median(np.diff(kept_arr)))
    cycle_no = np.rint((kept_arr - kept_arr[0]) / period_guess)
    slope, intercept = np.polyfit(cycle_no, kept_arr, 1)
    cycles = int(cycle_no[-1])
    first = float(intercept)
    return cycles, first, first + cycles * float(slope)


def _extract_current(
    window: SampleWindow, config: MeteringConfig, voltage: _Voltage, role: str
) -> _Current:
    th = config.thresholds
    empty = np.zeros(0)
    if role not in window.roles:
        return _Current(empty, empty, missing=True, clipped=False)
    row = window.roles.index(role)
    cal = config.current_cal[CURRENT_ROLES.index(role)]
    codes = window.codes[row]
    times = np.asarray(window.times_s[row], dtype=np.float64)
    pin = _pin_volts(codes, window, config) - cal.offset
    dc = float(pin.mean())
    ac_rms = float(pin.std())
    if abs(dc - _bias_v(window)) > th.ct_missing_offset_v and ac_rms < th.ct_missing_ac_v:
        return _Current(empty, empty, missing=True, clipped=False)

    start, stop = voltage.span
    inside = (times >= start) & (times < stop)
    amps = pin[inside]
    amps = (amps - amps.mean()) * (config.amps_per_pin_volt * cal.gain)
    corrected = times[inside]
    if voltage.frequency_hz is not None:
        # A channel that lags by phase_deg recorded each value that late: move it back.
        shift_deg = cal.phase_deg - config.voltage_cal.phase_deg
        corrected = corrected - shift_deg / (360.0 * voltage.frequency_hz)
    return _Current(corrected, amps, missing=False, clipped=_is_clipped(codes, window))


def _voltage_at(voltage: _Voltage, instants: FloatArray, delay_s: float) -> FloatArray:
    """L1 volts at `instants - delay_s`, using periodicity where that falls outside the block."""
    assert voltage.frequency_hz is not None
    period = 1.0 / voltage.frequency_hz
    source = instants - delay_s
    source = np.where(source < voltage.times[0], source + period, source)
    source = np.where(source > voltage.times[-1], source - period, source)
    return _interp_cubic(source, voltage.times, voltage.values)


def _interp_cubic(x: FloatArray, xp: FloatArray, fp: FloatArray) -> FloatArray:
    """4-point Lagrange interpolation on the (not quite uniform) sample instants.

    Linear interpolation loses (w h)^2 / 12 of a sine's power on average between samples:
    0.05 % at 50 Hz and 4 kSPS, which the derived L2/L3 voltages would carry into the power.
    The cubic's error is of order (w h)^4, far below the converters' noise.
    """
    steps = np.diff(xp)
    if xp.size < 4 or not bool(np.all(steps > 0.0)):
        return np.interp(x, xp, fp)
    k = np.clip(np.searchsorted(xp, x, side="right") - 1, 1, xp.size - 3)
    x0, x1, x2, x3 = xp[k - 1], xp[k], xp[k + 1], xp[k + 2]
    d0, d1, d2, d3 = x - x0, x - x1, x - x2, x - x3
    return (
        fp[k - 1] * (d1 * d2 * d3) / ((x0 - x1) * (x0 - x2) * (x0 - x3))
        + fp[k] * (d0 * d2 * d3) / ((x1 - x0) * (x1 - x2) * (x1 - x3))
        + fp[k + 1] * (d0 * d1 * d3) / ((x2 - x0) * (x2 - x1) * (x2 - x3))
        + fp[k + 2] * (d0 * d1 * d2) / ((x3 - x0) * (x3 - x1) * (x3 - x2))
    )


def _phase_delays(config: MeteringConfig, frequency_hz: float) -> tuple[float, float, float]:
    """How far L1, L2, L3 lag L1 (right rotation: 0, 1/3, 2/3 cycle; left: 0, 2/3, 1/3)."""
    third = 1.0 / (3.0 * frequency_hz)
    if config.rotation == "right":
        return 0.0, third, 2.0 * third
    return 0.0, 2.0 * third, third


def _rms(values: FloatArray) -> float:
    return float(np.sqrt(np.mean(values * values))) if values.size else 0.0


def _current_faults(current: _Current) -> frozenset[Fault]:
    if current.missing:
        return frozenset({Fault.CT_MISSING})
    return frozenset({Fault.CLIPPED}) if current.clipped else frozenset()


def _current_only(current: _Current, voltage_v: float) -> _Measured:
    """No usable voltage: the current is still worth showing (the CT works), power is not."""
    return _Measured(_rms(current.amps), 0.0, voltage_v, _current_faults(current))


def _star_or_single(
    voltage: _Voltage, currents: list[_Current], config: MeteringConfig
) -> list[_Measured]:
    assert voltage.frequency_hz is not None
    delays = _phase_delays(config, voltage.frequency_hz)
    out: list[_Measured] = []
    for current, delay in zip(currents, delays, strict=True):
        if current.missing or current.amps.size == 0:
            out.append(_Measured(0.0, 0.0, voltage.rms_v, _current_faults(current)))
            continue
        volts = _voltage_at(voltage, current.times, delay)
        power = float(np.mean(volts * current.amps))
        out.append(_Measured(_rms(current.amps), power, voltage.rms_v, _current_faults(current)))
    return out


def _delta(voltage: _Voltage, currents: list[_Current], config: MeteringConfig) -> list[_Measured]:
    """3-wire delta: V12 measured, CTs on L1 and L3, L2 = -(I1 + I3).

    The total is the two-wattmeter sum V12*I1 + V32*I3. Each line's own values refer to a virtual
    star point, V1n = (V12 - V31) / 3 and so on; the three line powers add up to the same total.
    """
    assert voltage.frequency_hz is not None
    first, third = currents[0], currents[2]
    faults = _current_faults(first) | _current_faults(third)
    if first.missing or third.missing or first.amps.size == 0 or third.amps.size == 0:
        zero = _Measured(0.0, 0.0, voltage.rms_v / math.sqrt(3.0), faults)
        return [
            _Measured(0.0, 0.0, zero.voltage_v, _current_faults(first)),
            zero,
            _Measured(0.0, 0.0, zero.voltage_v, _current_faults(third)),
        ]
    instants = first.times
    i1 = first.amps
    i3 = _interp_cubic(instants, third.times, third.amps)
    i2 = -(i1 + i3)
    _, d2, d3 = _phase_delays(config, voltage.frequency_hz)
    v12 = _voltage_at(voltage, instants, 0.0)
    v23 = _voltage_at(voltage, instants, d2)
    v31 = _voltage_at(voltage, instants, d3)
    line_volts = ((v12 - v31) / 3.0, (v23 - v12) / 3.0, (v31 - v23) / 3.0)
    line_amps = (i1, i2, i3)
    line_faults = (_current_faults(first), faults, _current_faults(third))
    return [
        _Measured(_rms(amps), float(np.mean(volts * amps)), _rms(volts), fault)
        for volts, amps, fault in zip(line_volts, line_amps, line_faults, strict=True)
    ]


def _phase_reading(
    measured: _Measured,
    faults: frozenset[Fault],
    previous: Direction,
    th: Thresholds,
) -> tuple[PhaseReading, Direction]:
    current, power = measured.current_a, measured.power_w
    if Fault.CT_MISSING in faults or current < th.zero_current_a:
        current, power = 0.0, 0.0
    apparent = measured.voltage_v * current
    pf = min(abs(power) / apparent, 1.0) if apparent > 0.0 else 0.0
    direction = next_direction(previous, current, power, apparent, th)
    phase = PhaseReading(
        current_a=current,
        power_w=power,
        voltage_v=measured.voltage_v,
        power_factor=pf,
        direction=direction,
        faults=faults,
    )
    return phase, direction


def next_direction(
    previous: Direction, current_a: float, power_w: float, apparent_va: float, th: Thresholds
) -> Direction:
    """Direction with hysteresis on both the current and the power factor, so it never flaps."""
    if current_a < th.direction_off_a or apparent_va <= 0.0:
        return Direction.NONE
    ratio = abs(power_w) / apparent_va
    sign = Direction.IMPORT if power_w > 0.0 else Direction.EXPORT
    if previous is Direction.NONE:
        if current_a >= th.direction_on_a and ratio >= th.direction_on_pf:
            return sign
        return Direction.NONE
    if ratio < th.direction_off_pf:
        return Direction.NONE
    if sign is not previous and ratio >= th.direction_on_pf:
        return sign
    return previous


def _integrate_energy(state: EngineState, total_power_w: float, duration_s: float) -> EngineState:
    energy_kwh = abs(total_power_w) * duration_s / _JOULES_PER_KWH
    if total_power_w >= 0.0:
        return replace(state, import_energy_kwh=state.import_energy_kwh + energy_kwh)
    return replace(state, export_energy_kwh=state.export_energy_kwh + energy_kwh)
