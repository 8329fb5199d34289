"""The simulated EV and charger as a closed-loop load for the live simulation.

The grid simulator adds `EvLoad.current_at(t)` (per-phase RMS current, in phase with the
voltage) to its scenario loads; the runtime hands each published `ReportedGrid` to `poll`, as the
charger would read it over Modbus once a second. The CT path then measures the EV that our own
reports steer, closing the loop through the real metering, controller and register map.
"""

from __future__ import annotations

from appliance.grid import ReportedGrid
from appliance.sim.charger import ChargerBehaviour, SimCharger, Triple
from appliance.sim.ev import EvSpec, SimEv


class EvLoad:
    def __init__(
        self,
        spec: EvSpec | None = None,
        behaviour: ChargerBehaviour = ChargerBehaviour.SUBTRACTING,
        *,
        grid_limit_a: float = 32.0,
        min_current_a: float = 6.0,
        wired_phases: int = 3,
        meter: str = "emu_professional",
        poll_period_s: float = 1.0,
    ) -> None:
        self.ev = SimEv(spec or EvSpec(plug_in_h=0.0))
        self.charger = SimCharger(
            behaviour,
            grid_limit_a=grid_limit_a,
            min_current_a=min_current_a,
            max_current_a=grid_limit_a,
            wired_phases=wired_phases,
            meter=meter,
        )
        self.poll_period_s = poll_period_s
        self._last_poll: float | None = None
        self._offer: float | None = None
        self._advanced_to: float | None = None

    def poll(self, reported: ReportedGrid | None, now: float) -> None:
        """The charger reads the meter (at most once per poll period) and sets its offer."""
        if self._last_poll is not None and now - self._last_poll < self.poll_period_s:
            return
        self._last_poll = now
        self._offer = self.charger.poll(reported, self.ev.per_phase())

    def current_at(self, t: float) -> Triple:
        """Per-phase EV current at time `t` (monotonic seconds; calls must not go back)."""
        if self._advanced_to is None:
            self._advanced_to = t
        elif t > self._advanced_to:
            self.ev.step(self._offer, t - self._advanced_to)
            self._advanced_to = t
        return self.ev.per_phase()
