"""PV production for a simulated day: a clear-sky bell between sunrise and sunset, optionally
shaded by passing clouds (a two-state Markov process with smooth edges). Deterministic per seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.sim.household import DAY_S, FloatArray


@dataclass(frozen=True)
class PvDay:
    peak_w: float
    sunrise_h: float
    sunset_h: float
    cloudy: bool = False
    cloud_mean_s: float = 240.0  # mean length of a cloud
    clear_mean_s: float = 420.0  # mean gap between clouds
    cloud_transmission: float = 0.25


SUMMER = PvDay(peak_w=8000.0, sunrise_h=5.8, sunset_h=21.8)
SUMMER_CLOUDY = PvDay(peak_w=8000.0, sunrise_h=5.8, sunset_h=21.8, cloudy=True)
WINTER = PvDay(peak_w=2200.0, sunrise_h=8.7, sunset_h=16.7)


def pv_power(day: PvDay, seed: int = 1, seconds: int = DAY_S) -> FloatArray:
    """Total inverter output (W) per second."""
    hours = np.arange(seconds) / 3600.0
    span = day.sunset_h - day.sunrise_h
    x = np.clip((hours - day.sunrise_h) / span, 0.0, 1.0)
    clear = day.peak_w * np.sin(np.pi * x) ** 1.4
    if not day.cloudy:
        return np.asarray(clear, dtype=np.float64)
    rng = np.random.default_rng(seed + 1000)
    shade = np.ones(seconds, dtype=np.float64)
    t = int(rng.exponential(day.clear_mean_s))
    while t < seconds:
        length = max(int(rng.exponential(day.cloud_mean_s)), 20)
        depth = day.cloud_transmission * rng.uniform(0.6, 1.4)
        shade[t : t + length] = depth
        t += length + max(int(rng.exponential(day.clear_mean_s)), 30)
    # Cloud edges take tens of seconds to pass over the array.
    kernel = np.ones(30) / 30.0
    shade = np.convolve(shade, kernel, mode="same")
    return np.asarray(clear * shade, dtype=np.float64)
