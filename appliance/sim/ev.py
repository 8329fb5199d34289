"""A simulated EV: follows the charger's offer above its 6 A minimum, ramps, stops when full.

IEC 61851: the car draws at most the offered current and never less than the minimum while it
charges; below the minimum the charger pauses and the car draws nothing. A car takes a few
seconds to start after an offer appears, ramps up at a finite rate, drops fast, and stops by itself
when the battery is full.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.grid import NOMINAL_VOLTAGE_V


@dataclass(frozen=True, slots=True)
class EvSpec:
    phases: int = 3  # 1: draws on L1 only
    max_current_a: float = 16.0
    min_current_a: float = 6.0
    battery_kwh: float = 60.0
    start_soc: float = 0.25
    ramp_up_a_per_s: float = 3.0
    ramp_down_a_per_s: float = 12.0
    start_latency_s: float = 5.0
    efficiency: float = 0.92  # share of grid energy that ends up in the battery
    plug_in_h: float = 8.0  # hour of the day the car is connected (draws nothing before)


class SimEv:
    def __init__(self, spec: EvSpec, voltage_v: float = NOMINAL_VOLTAGE_V) -> None:
        self.spec = spec
        self.voltage_v = voltage_v
        self.current_a = 0.0
        self.soc = spec.start_soc
        self._waiting_s = 0.0  # time an offer has been present while not yet drawing
        self.full = False

    @property
    def phase_mask(self) -> tuple[bool, bool, bool]:
        return (True, self.spec.phases == 3, self.spec.phases == 3)

    def per_phase(self) -> tuple[float, float, float]:
        i = self.current_a
        return (i, i, i) if self.spec.phases == 3 else (i, 0.0, 0.0)

    def step(self, offered_a: float | None, dt: float = 1.0) -> float:
        """Advance by `dt` with the charger offering `offered_a` per phase (None = paused)."""
        spec = self.spec
        if self.full or offered_a is None or offered_a < spec.min_current_a:
            self._waiting_s = 0.0
            self.current_a = max(self.current_a - spec.ramp_down_a_per_s * dt, 0.0)
        else:
            goal = min(offered_a, spec.max_current_a)
            if self.current_a <= 0.0 and self._waiting_s < spec.start_latency_s:
                self._waiting_s += dt
            elif goal >= self.current_a:
                self.current_a = min(goal, max(self.current_a, 0.0) + spec.ramp_up_a_per_s * dt)
            else:
                self.current_a = max(goal, self.current_a - spec.ramp_down_a_per_s * dt)
        energy_kwh = self.current_a * self.voltage_v * spec.phases * dt / 3.6e6
        self.soc += energy_kwh * spec.efficiency / spec.battery_kwh
        if self.soc >= 1.0 and not self.full:
            self.full = True  # the car ends the session: current drops at once
            self.current_a = 0.0
        return self.current_a
