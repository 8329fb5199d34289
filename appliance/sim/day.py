"""A simulated day at 1 s steps: household + PV + EV, steered by the appliance or a baseline.

Each second: the EV's current of the past second and the household and PV give the grid's
per-phase active power; that becomes a `GridReading`; the steering (our controller reporting
through the register map to a simulated charger, or a baseline that sets the charger's current
itself) decides the offer; the EV follows. A grid-data loss can be injected while the EV charges
to measure how fast the charger pauses. Metrics are computed afterwards with numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from appliance.control import Controller, ControlTuning
from appliance.grid import (
    NOMINAL_VOLTAGE_V,
    Direction,
    GridReading,
    PhaseReading,
    ReportedGrid,
    Source,
)
from appliance.modes import ChargeMode
from appliance.settings import Settings
from appliance.sim.charger import ChargerBehaviour, SimCharger, Triple
from appliance.sim.ev import EvSpec, SimEv
from appliance.sim.household import DAY_S, FloatArray, HouseholdKind, household
from appliance.sim.pv import SUMMER, SUMMER_CLOUDY, WINTER, PvDay, pv_power

# 2026-06-01 00:00 UTC: a day starts on a quarter boundary.
DAY_START_WALL_S = 1_780_272_000.0
NO_DIRECTION_A = 0.15


@dataclass(frozen=True)
class DayScenario:
    name: str
    pv: PvDay
    house: HouseholdKind
    ev: EvSpec = field(default_factory=EvSpec)
    grid_phases: int = 3
    seed: int = 7
    description: str = ""


SCENARIOS: dict[str, DayScenario] = {
    s.name: s
    for s in (
        DayScenario("sunny", SUMMER, "normal", description="clear summer day, 3-phase 11 kW EV"),
        DayScenario("cloudy", SUMMER_CLOUDY, "normal", description="summer day, passing clouds"),
        DayScenario("winter", WINTER, "winter", description="short winter day, heat pump"),
        DayScenario(
            "heavy", SUMMER_CLOUDY, "heavy", description="clouds, heat pump, hob, dryer, kettles"
        ),
        DayScenario(
            "sunny_1p",
            SUMMER,
            "normal",
            ev=EvSpec(phases=1, max_current_a=32.0, battery_kwh=40.0),
            description="clear summer day, 1-phase 7.4 kW EV",
        ),
    )
}


class Steering(Protocol):
    """Whatever decides the charger's offer from the grid (the appliance, or a baseline)."""

    name: str

    def step(
        self, reading: GridReading | None, own_a: Triple, now: float, wall_time: float
    ) -> tuple[float | None, ReportedGrid | None]: ...


class ApplianceSteering:
    """Our controller reporting through the register map to a simulated charger."""

    def __init__(
        self,
        settings: Settings,
        mode: ChargeMode,
        behaviour: ChargerBehaviour,
        tuning: ControlTuning | None = None,
    ) -> None:
        grid = settings.grid
        self.name = f"appliance/{behaviour.value}"
        self.settings = settings
        self.mode = mode
        self.controller = Controller(tuning)
        self.charger = SimCharger(
            behaviour,
            grid_limit_a=grid.max_charge_current_a,
            min_current_a=grid.min_charge_current_a,
            max_current_a=grid.max_charge_current_a,
            wired_phases=grid.phases,
            meter=settings.meter.emulate,
        )

    def step(
        self, reading: GridReading | None, own_a: Triple, now: float, wall_time: float
    ) -> tuple[float | None, ReportedGrid | None]:
        reported = self.controller.update(
            reading, self.settings, self.mode, now=now, wall_time=wall_time
        )
        return self.charger.poll(reported, own_a), reported


@dataclass
class DayTrace:
    """Per-second record of a run (numpy arrays) plus event times."""

    scenario: str
    steering: str
    mode: str
    grid_w: FloatArray
    pv_w: FloatArray
    house_w: FloatArray
    ev_a: FloatArray  # EV current per phase
    ev_w: FloatArray
    reported_a: FloatArray  # reported current, highest phase
    offer_a: FloatArray  # charger offer, nan while paused
    failsafe: np.ndarray
    loss_start_s: int | None = None
    pause_after_loss_s: float | None = None
    notes: list[str] = field(default_factory=list)


def build_reading(
    powers: FloatArray, voltage_v: float, phase_count: int, now: float, wall: float
) -> GridReading:
    phases = []
    for p in range(3):
        power = float(powers[p])
        current = abs(power) / voltage_v
        if current < NO_DIRECTION_A:
            direction = Direction.NONE
        else:
            direction = Direction.IMPORT if power > 0 else Direction.EXPORT
        phases.append(PhaseReading(current, power, voltage_v, 1.0, direction))
    return GridReading(
        monotonic_s=now,
        wall_time_s=wall,
        source=Source.CT,
        phases=(phases[0], phases[1], phases[2]),
        phase_count=phase_count,
    )


def settings_for(scenario: DayScenario, mode: ChargeMode, averaging: str = "quarter") -> Settings:
    data = Settings().model_dump()
    data["grid"] |= {
        "phases": scenario.grid_phases,
        "network": "star" if scenario.grid_phases == 3 else "single",
    }
    data["control"] |= {"mode": mode.to_str(), "capacity_averaging": averaging}
    return Settings.model_validate(data)


def simulate_day(
    scenario: DayScenario,
    steering: Steering,
    mode: ChargeMode,
    seconds: int = DAY_S,
    *,
    loss_s: int = 60,
    loss_after_h: float = 11.0,
) -> DayTrace:
    voltage = NOMINAL_VOLTAGE_V
    house = household(scenario.house, scenario.seed, seconds).power_w
    pv = pv_power(scenario.pv, scenario.seed, seconds)
    if scenario.grid_phases == 1:
        house = np.vstack([house.sum(axis=0), np.zeros(seconds), np.zeros(seconds)])
        pv_phase = np.vstack([pv, np.zeros(seconds), np.zeros(seconds)])
    else:
        pv_phase = np.vstack([pv, pv, pv]) / 3.0
    base = house - pv_phase  # grid power without the EV
    ev = SimEv(scenario.ev, voltage)
    ev_a = np.zeros(seconds)
    grid_w = np.zeros(seconds)
    reported_a = np.zeros(seconds)
    offer_a = np.full(seconds, np.nan)
    failsafe = np.zeros(seconds, dtype=bool)
    loss_start: int | None = None
    pause_after: float | None = None
    charging_for = 0
    loss_from = int(loss_after_h * 3600)
    plug_in_s = int(scenario.ev.plug_in_h * 3600)
    mono0 = 10_000.0
    ev_phases = np.array(ev.phase_mask, dtype=np.float64)
    for t in range(seconds):
        now = mono0 + t
        current = ev.current_a
        powers = base[:, t] + ev_phases * (current * voltage)
        grid_w[t] = powers.sum()
        ev_a[t] = current
        charging_for = charging_for + 1 if current > 0 else 0
        if loss_start is None and t >= loss_from and charging_for >= 120 and loss_s > 0:
            loss_start = t
        losing = loss_start is not None and loss_start <= t < loss_start + loss_s
        reading = (
            None
            if losing
            else build_reading(powers, voltage, scenario.grid_phases, now, DAY_START_WALL_S + t)
        )
        own = ev.per_phase()
        offer, reported = steering.step(reading, own, now, DAY_START_WALL_S + t)
        if reported is not None:
            reported_a[t] = max(p.current_a for p in reported.phases)
            failsafe[t] = reported.failsafe
        if offer is not None:
            offer_a[t] = offer
        elif losing and pause_after is None and loss_start is not None:
            pause_after = float(t - loss_start)
        ev.step(offer if t >= plug_in_s else None)
    ev_w = ev_a * voltage * scenario.ev.phases
    return DayTrace(
        scenario=scenario.name,
        steering=steering.name,
        mode=mode.to_str(),
        grid_w=grid_w,
        pv_w=pv,
        house_w=house.sum(axis=0),
        ev_a=ev_a,
        ev_w=ev_w,
        reported_a=reported_a,
        offer_a=offer_a,
        failsafe=failsafe,
        loss_start_s=loss_start,
        pause_after_loss_s=pause_after,
    )


@dataclass(frozen=True)
class DayMetrics:
    ev_energy_kwh: float
    pv_share: float  # share of the EV's energy covered by PV surplus
    ev_grid_import_kwh: float  # grid import the EV caused (import while charging, up to the EV)
    ev_grid_import_share: float
    max_quarter_import_kw: float
    max_quarter_import_with_ev_kw: float  # highest quarter in which the EV charged
    house_only_max_quarter_kw: float  # what the house alone would have drawn in that worst quarter
    charge_starts: int
    loss_to_pause_s: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def quarter_averages(import_w: FloatArray) -> FloatArray:
    """Average import per quarter hour (W), day starting on a boundary."""
    usable = (len(import_w) // 900) * 900
    return np.asarray(import_w[:usable].reshape(-1, 900).mean(axis=1), dtype=np.float64)


def metrics(trace: DayTrace) -> DayMetrics:
    ev_w = trace.ev_w
    grid_import = np.clip(trace.grid_w, 0.0, None)
    surplus_before_ev = np.clip(trace.pv_w - trace.house_w, 0.0, None)
    from_pv = np.minimum(ev_w, surplus_before_ev)
    ev_import = np.minimum(ev_w, grid_import)
    ev_kwh = float(ev_w.sum()) / 3.6e6
    quarters = quarter_averages(grid_import)
    ev_quarters = quarter_averages(ev_w) > 1.0
    house_only = quarter_averages(np.clip(trace.house_w - trace.pv_w, 0.0, None))
    with_ev = quarters[ev_quarters]
    started = np.flatnonzero((trace.ev_a[1:] > 0) & (trace.ev_a[:-1] <= 0)) + 1
    if trace.loss_start_s is not None:
        # The restart after the injected data loss is the fail-safe working, not a control
        # decision: it is left out so steerings that ignore the loss are compared fairly.
        after = started[started > trace.loss_start_s]
        if len(after):
            started = started[started != after[0]]
    starts = len(started)
    return DayMetrics(
        ev_energy_kwh=ev_kwh,
        pv_share=float(from_pv.sum() / ev_w.sum()) if ev_w.sum() > 0 else math.nan,
        ev_grid_import_kwh=float(ev_import.sum()) / 3.6e6,
        ev_grid_import_share=float(ev_import.sum() / ev_w.sum()) if ev_w.sum() > 0 else 0.0,
        max_quarter_import_kw=float(quarters.max()) / 1000.0 if len(quarters) else 0.0,
        max_quarter_import_with_ev_kw=float(with_ev.max()) / 1000.0 if len(with_ev) else 0.0,
        house_only_max_quarter_kw=float(house_only.max()) / 1000.0 if len(house_only) else 0.0,
        charge_starts=starts,
        loss_to_pause_s=trace.pause_after_loss_s,
    )
