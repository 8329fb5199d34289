"""Three reference controllers, re-implemented from their published behaviour (no code copied).

Each one sets the charger's current directly (as a charger's own smart logic does), from the
same grid readings our controller gets, and knows the EV's current (a charger measures it).

- Plain: every second, charge at what the mode's goal allows right now; no timers, no hysteresis.
- SmartEVSE (documented menu settings): Solar mode for ECO+ (start at START = 4 A of summed
  export, regulate the summed phase currents to IMPORT = 0 A, hold the minimum and stop after
  STOP = 10 min without enough sun), Solar with STOP disabled for ECO (never stops, minimum
  always), Smart mode with a summed mains limit for CAPACITY (instantaneous). Stops charging
  11 s after mains data is lost.
- evcc (documented loadpoint defaults): PV mode (enable when the surplus carries the minimum
  power for 1 min, disable after 3 min below it, control interval 30 s), Min+PV for ECO, and an
  instantaneous power limit (its circuits) for CAPACITY. Its reaction to a lost grid meter is not
  documented in a way we can model; it is reported as not measured.
"""

from __future__ import annotations

from appliance.grid import NOMINAL_VOLTAGE_V, GridReading, ReportedGrid
from appliance.modes import ChargeMode, ModeKind
from appliance.sim.charger import Triple


def _net_w(reading: GridReading) -> float:
    return sum(p.power_w for p in reading.phases)


class PlainInstant:
    name = "plain"

    def __init__(self, mode: ChargeMode, ev_phases: int, limit_a: float, min_a: float) -> None:
        self.mode = mode
        self.volts_per_amp = NOMINAL_VOLTAGE_V * ev_phases
        self.limit_a = limit_a
        self.min_a = min_a
        self.offer: float | None = None

    def step(
        self, reading: GridReading | None, own_a: Triple, now: float, wall_time: float
    ) -> tuple[float | None, ReportedGrid | None]:
        del now, wall_time
        if reading is None:
            return self.offer, None  # no watchdog: keeps the last offer
        own = max(own_a)
        goal_w = self.mode.capacity_kw * 1000.0 if self.mode.kind is ModeKind.CAPACITY else 0.0
        target = own + (goal_w - _net_w(reading)) / self.volts_per_amp
        if self.mode.kind is ModeKind.ECO:
            target = max(target, self.min_a)
        self.offer = None if target < self.min_a else min(target, self.limit_a)
        return self.offer, None


class SmartEvse:
    name = "smartevse"
    START_A = 4.0  # summed export needed to start (Solar)
    STOP_S = 600.0  # Solar: stop after this long at the minimum without enough sun
    IMPORT_A = 0.0
    START_CONFIRM_S = 40.0
    NO_MAINS_STOP_S = 11.0
    GAIN = 0.5

    def __init__(self, mode: ChargeMode, ev_phases: int, limit_a: float, min_a: float) -> None:
        self.mode = mode
        self.ev_phases = ev_phases
        self.limit_a = limit_a
        self.min_a = min_a
        self.offer: float | None = None
        self._start_since: float | None = None
        self._short_since: float | None = None
        self._last_data = -1e9

    def step(
        self, reading: GridReading | None, own_a: Triple, now: float, wall_time: float
    ) -> tuple[float | None, ReportedGrid | None]:
        del wall_time
        if reading is None:
            if now - self._last_data >= self.NO_MAINS_STOP_S:
                self.offer = None
            return self.offer, None
        self._last_data = now
        isum = sum(p.power_w / p.voltage_v for p in reading.phases if p.voltage_v > 0)
        if self.mode.kind is ModeKind.CAPACITY:
            max_sum = self.mode.capacity_kw * 1000.0 / NOMINAL_VOLTAGE_V
            return self._regulate(max_sum - isum, always=False), None
        difference = self.IMPORT_A - isum  # summed current the EV may still add
        if self.offer is None:
            if self.mode.kind is ModeKind.ECO or isum <= -self.START_A:
                if self._start_since is None:
                    self._start_since = now
                if (
                    self.mode.kind is ModeKind.ECO
                    or now - self._start_since >= self.START_CONFIRM_S
                ):
                    self.offer = self.min_a
                    self._start_since = None
            else:
                self._start_since = None
            return self.offer, None
        wanted = self.offer + self.GAIN * difference / self.ev_phases
        if wanted < self.min_a:
            if self._short_since is None:
                self._short_since = now
            stop = self.mode.kind is ModeKind.ECO_PLUS and now - self._short_since >= self.STOP_S
            self.offer = None if stop else self.min_a
            if stop:
                self._short_since = None
            return self.offer, None
        self._short_since = None
        self.offer = min(wanted, self.limit_a)
        return self.offer, None

    def _regulate(self, room_sum_a: float, always: bool) -> float | None:
        base = self.offer if self.offer is not None else 0.0
        wanted = base + self.GAIN * room_sum_a / self.ev_phases
        if self.offer is None:
            wanted = base + room_sum_a / self.ev_phases
        if wanted < self.min_a and not always:
            self.offer = None
        else:
            self.offer = min(max(wanted, self.min_a), self.limit_a)
        return self.offer


class Evcc:
    name = "evcc"
    INTERVAL_S = 30.0
    ENABLE_DELAY_S = 60.0
    DISABLE_DELAY_S = 180.0

    def __init__(self, mode: ChargeMode, ev_phases: int, limit_a: float, min_a: float) -> None:
        self.mode = mode
        self.volts_per_amp = NOMINAL_VOLTAGE_V * ev_phases
        self.limit_a = limit_a
        self.min_a = min_a
        self.offer: float | None = None
        self._next = -1e9
        self._enable_since: float | None = None
        self._disable_since: float | None = None

    def step(
        self, reading: GridReading | None, own_a: Triple, now: float, wall_time: float
    ) -> tuple[float | None, ReportedGrid | None]:
        del wall_time
        if reading is None or now < self._next:
            return self.offer, None
        self._next = now + self.INTERVAL_S
        own = max(own_a)
        net = _net_w(reading)
        if self.mode.kind is ModeKind.CAPACITY:
            target = own + (self.mode.capacity_kw * 1000.0 - net) / self.volts_per_amp
            self.offer = None if target < self.min_a else min(target, self.limit_a)
            return self.offer, None
        surplus_w = own * self.volts_per_amp - net
        min_power_w = self.min_a * self.volts_per_amp
        target = surplus_w / self.volts_per_amp
        if self.mode.kind is ModeKind.ECO:
            self.offer = min(max(target, self.min_a), self.limit_a)
            return self.offer, None
        if self.offer is None:
            if surplus_w >= min_power_w:
                self._enable_since = self._enable_since if self._enable_since is not None else now
                if now - self._enable_since >= self.ENABLE_DELAY_S:
                    self.offer = min(max(target, self.min_a), self.limit_a)
                    self._enable_since = None
            else:
                self._enable_since = None
            return self.offer, None
        if surplus_w < min_power_w:
            self._disable_since = self._disable_since if self._disable_since is not None else now
            if now - self._disable_since >= self.DISABLE_DELAY_S:
                self.offer = None
                self._disable_since = None
            else:
                self.offer = self.min_a
            return self.offer, None
        self._disable_since = None
        self.offer = min(target, self.limit_a)
        return self.offer, None
