"""Household load profiles for a simulated day: per-phase active power, one value per second.

A profile is the sum of appliance cycles placed on phases: a base load with noise, a fridge, a
kettle, an oven with its thermostat, a dishwasher, a washing machine, and (winter and heavy
profiles) a 3-phase heat pump cycling with the outdoor temperature. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

DAY_S = 86_400
FloatArray = npt.NDArray[np.float64]

HouseholdKind = Literal["normal", "winter", "heavy"]


@dataclass(frozen=True)
class HouseholdProfile:
    kind: str
    power_w: FloatArray  # shape (3, seconds): L1, L2, L3, + consumption

    @property
    def seconds(self) -> int:
        return int(self.power_w.shape[1])

    @property
    def total_w(self) -> FloatArray:
        return np.asarray(self.power_w.sum(axis=0), dtype=np.float64)


def _hms(hours: float) -> int:
    return int(hours * 3600)


def _on(power: FloatArray, phase: int, start_s: int, duration_s: int, watts: float) -> None:
    end = min(start_s + duration_s, power.shape[1])
    if start_s < end:
        power[phase, start_s:end] += watts


def _cycling(
    power: FloatArray,
    phases: tuple[int, ...],
    span_s: tuple[int, int],
    watts: float,
    on_off_s: tuple[int, int],
) -> None:
    """A thermostat: `watts` split over `phases`, on for `on_s`, off for `off_s`, repeated."""
    share = watts / len(phases)
    start_s, end_s = span_s
    on_s, off_s = on_off_s
    t = start_s
    while t < end_s:
        for phase in phases:
            _on(power, phase, t, min(on_s, end_s - t), share)
        t += on_s + off_s


def household(
    kind: HouseholdKind = "normal", seed: int = 1, seconds: int = DAY_S
) -> HouseholdProfile:
    rng = np.random.default_rng(seed)
    power = np.zeros((3, seconds), dtype=np.float64)
    hours = np.arange(seconds) / 3600.0
    # Base load: standby, lighting in the evening, a little noise (per-second jitter of devices).
    evening = np.clip(np.sin((hours - 16.0) / 8.0 * np.pi), 0.0, None) * (hours > 16.0)
    for phase, base in enumerate((140.0, 110.0, 90.0)):
        power[phase] += base + 120.0 * evening + rng.normal(0.0, 12.0, seconds).clip(-30, 30)
    # Fridge on L1: 90 W, about 12 min on, 25 min off, phase-shifted by the seed.
    _cycling(power, (0,), (int(rng.integers(0, 1800)), seconds), 90.0, (720, 1500))
    # Kettle (2.2 kW on L1) a few times, washing machine heater on L2, dishwasher on L3.
    for at in (7.1, 12.4, 16.2, 20.6):
        _on(power, 0, _hms(at) + int(rng.integers(-600, 600)), 180, 2200.0)
    _on(power, 1, _hms(10.0) + int(rng.integers(0, 1800)), 1200, 2000.0)
    _on(power, 2, _hms(21.2) + int(rng.integers(0, 900)), 1500, 1900.0)
    # Oven on L2 at dinner time: heat-up, then the thermostat cycles.
    oven = _hms(17.8) + int(rng.integers(0, 900))
    _on(power, 1, oven, 600, 2400.0)
    _cycling(power, (1,), (oven + 600, oven + 3000), 2400.0, (120, 180))
    if kind in ("winter", "heavy"):
        # Heat pump on three phases: longer cycles at night and early morning (colder).
        _cycling(power, (0, 1, 2), (0, _hms(7.0)), 2400.0, (2400, 1200))
        _cycling(power, (0, 1, 2), (_hms(7.0), _hms(17.0)), 2100.0, (1500, 1500))
        _cycling(power, (0, 1, 2), (_hms(17.0), seconds), 2400.0, (2100, 1200))
    if kind == "heavy":
        # Induction hob on L1+L2 at dinner, a dryer on L3, a second kettle round.
        hob = _hms(18.1) + int(rng.integers(0, 600))
        _on(power, 0, hob, 1500, 1600.0)
        _on(power, 1, hob, 1500, 1400.0)
        _on(power, 2, _hms(14.0) + int(rng.integers(0, 1800)), 3600, 2300.0)
        for at in (8.3, 15.1, 19.4):
            _on(power, 0, _hms(at) + int(rng.integers(-300, 300)), 200, 2200.0)
    return HouseholdProfile(kind, power)
