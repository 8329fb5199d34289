"""A closed loop for control tests: household + PV + simulated EV and charger, on a FakeClock."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from appliance.clock import FakeClock
from appliance.control import Controller, ControlStatus, ControlTuning
from appliance.grid import GridReading, ReportedGrid
from appliance.modes import ChargeMode
from appliance.settings import Settings
from appliance.sim.charger import ChargerBehaviour, SimCharger
from appliance.sim.day import build_reading
from appliance.sim.ev import EvSpec, SimEv

V = 230.0


def make_settings(phases: int = 3, mode: str = "eco+", **grid: object) -> Settings:
    data = Settings().model_dump()
    data["grid"] |= {"phases": phases, "network": "star" if phases == 3 else "single", **grid}
    data["control"] |= {"mode": mode}
    return Settings.model_validate(data)


@dataclass
class Loop:
    settings: Settings
    mode: ChargeMode
    behaviour: ChargerBehaviour = ChargerBehaviour.SUBTRACTING
    ev_spec: EvSpec = field(default_factory=lambda: EvSpec(plug_in_h=0.0, start_latency_s=3.0))
    tuning: ControlTuning | None = None
    clock: FakeClock = field(default_factory=FakeClock)
    house_w: tuple[float, float, float] = (300.0, 300.0, 300.0)
    pv_w: float = 0.0
    deliver: bool = True  # False: the metering delivers nothing (data loss)
    poll_every_s: int = 1  # the charger reads the meter this often (keeps its offer between)

    def __post_init__(self) -> None:
        grid = self.settings.grid
        self.controller = Controller(self.tuning)
        self.charger = SimCharger(
            self.behaviour,
            grid_limit_a=grid.max_charge_current_a,
            min_current_a=grid.min_charge_current_a,
            max_current_a=grid.max_charge_current_a,
            wired_phases=grid.phases,
        )
        self.ev = SimEv(self.ev_spec)
        self.reading: GridReading | None = None
        self.report: ReportedGrid | None = None
        self._seconds = 0
        self._offer: float | None = None

    @property
    def status(self) -> ControlStatus:
        return self.controller.status

    def grid_powers(self) -> np.ndarray:
        phases = self.settings.grid.phases
        pv = np.array([self.pv_w / phases if p < phases else 0.0 for p in range(3)])
        ev = np.array(self.ev.per_phase()) * V
        house = np.array(self.house_w)
        if phases == 1:
            house = np.array([house.sum(), 0.0, 0.0])
        return np.asarray(house - pv + ev, dtype=np.float64)

    def net_w(self) -> float:
        return float(self.grid_powers().sum())

    def step(self, seconds: int = 1) -> ReportedGrid:
        for _ in range(seconds):
            now, wall = self.clock.monotonic(), self.clock.time()
            if self.deliver:
                self.reading = build_reading(
                    self.grid_powers(), V, self.settings.grid.phases, now, wall
                )
            self.report = self.controller.update(
                self.reading, self.settings, self.mode, now=now, wall_time=wall
            )
            if self._seconds % self.poll_every_s == 0:
                self._offer = self.charger.poll(self.report, self.ev.per_phase())
            self._seconds += 1
            self.ev.step(self._offer)
            self.clock.advance(1.0)
        assert self.report is not None
        return self.report

    def run_until(self, predicate: object, limit_s: int) -> int:
        """Step until `predicate(self)` holds; returns the seconds it took (fails past limit)."""
        assert callable(predicate)
        for elapsed in range(1, limit_s + 1):
            self.step()
            if predicate(self):
                return elapsed
        raise AssertionError(f"condition not met within {limit_s} s: {self.status}")
