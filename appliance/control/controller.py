"""The control law: from one grid reading to the currents the charger is told.

The charger's dynamic load balancing charges at "grid limit - grid current the meter reports".
Instead of the measured current we report the *live headroom* for the current we want:

    reported on phase p = grid limit - (target charge current - EV current on p)

recomputed from every fresh reading. On an EV phase that is "limit - wanted change", on a phase
the EV does not use it is "limit - target". Both common charger behaviours settle at the target:

- a charger that subtracts its own current ("charge = limit - (reported - own)") lands on the
  target in one poll;
- a charger that integrates the headroom ("charge += gain x min(limit - reported)") moves by a
  share of the wanted change each poll and stops when the change reaches zero. Once short tests
  have measured that share (`response.py`), the wanted change is divided by it, so this kind
  too arrives in one poll.

For ECO+ and ECO the wanted change comes straight from the measured net power (the distance to a
small export), so the EV current estimate only matters for the limits (minimum, stop, fuse). Each
phase's report is never below the measured current (safety invariant), which is also what stops a
charger from raising a phase beyond the grid limit. Without valid data for `stale_after_s` every
phase reports an overloaded grid so any charger pauses; fresh data recovers on its own.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass

from appliance.control.ev import START_FRACTION, EvTracker, Triple
from appliance.control.quarter import QuarterBudget, QuarterState
from appliance.control.tuning import ControlTuning
from appliance.grid import (
    NOMINAL_FREQUENCY_HZ,
    NOMINAL_VOLTAGE_V,
    Fault,
    GridReading,
    ReportedGrid,
    ReportedPhase,
)
from appliance.modes import ChargeMode, ModeKind
from appliance.settings import Settings

# Room a response test needs below the grid limit, the fuse protection and (CAPACITY) the
# budget: the test asks 1 A more for one second.
RESPONSE_TEST_ROOM_A = 1.5
# Room a response test needs above the minimum. Its second poll returns the EV to where it began
# (the same headroom the other way), but an EV at the minimum itself lands on it again, where a
# charger that rounds down, or a float a micro-ampere low, pauses: so not at ECO's floor (0.1 A).
RESPONSE_TEST_FLOOR_A = 0.15
# Phase faults that leave a phase's current unknown or beyond range: the reading cannot steer.
PHASE_FAULTS = frozenset({Fault.CT_MISSING, Fault.CLIPPED})
MIN_VALID_VOLTAGE_V = 50.0


class ControlPhase(enum.StrEnum):
    FAILSAFE = "failsafe"  # no valid grid data: an overloaded grid is reported
    OFF = "off"  # the charger is held paused
    WAITING = "waiting"  # ECO+: the surplus carries the minimum, start timer running
    STARTING = "starting"  # the minimum is offered, waiting for the EV's current
    CHARGING = "charging"  # following the mode's target
    HOLDING = "holding"  # ECO+: held at the minimum through a deficit, stop timer running
    PAUSED = "paused"  # CAPACITY: the quarter budget cannot carry the minimum


@dataclass(frozen=True, slots=True)
class ControlStatus:
    """The controller's observable state, for screens, the dashboard and the API."""

    phase: ControlPhase
    mode: str
    reason: str
    target_a: float | None  # offered charge current per phase, None while paused
    available_a: float  # what the mode's goal would allow per EV phase
    ev_current_a: float
    ev_phases: int
    ev_phases_detected: bool
    starts_last_hour: int
    quarter_average_w: float | None
    quarter_energy_wh: float | None
    quarter_left_s: float | None
    allowed_import_w: float | None  # CAPACITY: import allowed now by the quarter budget
    data_age_s: float | None

    @property
    def failsafe(self) -> bool:
        return self.phase is ControlPhase.FAILSAFE


@dataclass
class _Timers:
    surplus_since: float | None = None
    starting_since: float = 0.0
    hold_since: float | None = None
    hold_import_wh: float = 0.0
    off_until: float = -math.inf
    session_ev_wh: float = 0.0


class Controller:
    """One instance per appliance. `update` is called once per second, with or without news."""

    def __init__(
        self, tuning: ControlTuning | None = None, quarter_state: QuarterState | None = None
    ) -> None:
        self.tuning = tuning or ControlTuning()
        t = self.tuning
        self._quarter = QuarterBudget(t.capacity_margin, t.capacity_catch_up, t.capacity_final_s)
        if quarter_state is not None:
            self._quarter.restore(quarter_state)
        self._tracker = EvTracker(grid_phases=3)
        self._timers = _Timers()
        self._phase = ControlPhase.FAILSAFE
        self._reason = "no grid data yet"
        self._mode: ChargeMode | None = None
        self._starts: deque[float] = deque()
        self._last_used_s: float | None = None  # window end of the newest reading used
        self._last_step_s: float | None = None
        self._last_report: ReportedGrid | None = None
        self._target: float | None = None
        self._available = 0.0
        self._allowed_w: float | None = None
        self._now = 0.0
        self._wall = 0.0

    # -- public ------------------------------------------------------------------------------

    def update(
        self,
        reading: GridReading | None,
        settings: Settings,
        mode: ChargeMode,
        *,
        now: float,
        wall_time: float,
    ) -> ReportedGrid:
        """The values to report for this second.

        `reading` is the newest measurement (the same object again when nothing new came, or
        None); `now` is the monotonic clock, `wall_time` Unix time (for quarter boundaries).
        """
        self._now, self._wall = now, wall_time
        if mode != self._mode:
            self._change_mode(mode, now)
        stale_after = settings.metering.stale_after_s
        usable = (
            reading is not None
            and reading.valid
            and not _faulted_phase(reading, settings.grid.phases)
            and now - reading.monotonic_s < stale_after
        )
        if usable:
            assert reading is not None
            if self._last_used_s is None or reading.monotonic_s > self._last_used_s:
                report = self._control(reading, settings, mode, now)
                self._last_used_s = reading.monotonic_s
                self._last_report = report
                return report
        if (
            self._last_used_s is not None
            and self._last_report is not None
            and not self._last_report.failsafe
            and now - self._last_used_s < stale_after
        ):
            # No news yet, still within the stale limit: repeat, raised to what is measured.
            return _hold(self._last_report, reading, now, wall_time)
        return self._failsafe(reading, settings, now, wall_time)

    @property
    def status(self) -> ControlStatus:
        est = self._tracker.estimate()
        figures = self._quarter.figures(self._wall)
        return ControlStatus(
            phase=self._phase,
            mode=self._mode.to_str() if self._mode else "",
            reason=self._reason,
            target_a=self._target,
            available_a=self._available,
            ev_current_a=est.current_a,
            ev_phases=est.phase_count,
            ev_phases_detected=est.detected,
            starts_last_hour=len(self._starts),
            quarter_average_w=figures.average_w if figures else None,
            quarter_energy_wh=figures.energy_wh if figures else None,
            quarter_left_s=figures.left_s if figures else None,
            allowed_import_w=self._allowed_w,
            data_age_s=None if self._last_used_s is None else self._now - self._last_used_s,
        )

    @property
    def charger_gain(self) -> float | None:
        """The charger's move per ampere of reported headroom, once response tests told it."""
        response = self._tracker.response
        return response.gain if response.known else None

    @property
    def quarter_state(self) -> QuarterState | None:
        """The small record to persist so a restart mid-quarter keeps its budget."""
        return self._quarter.state

    # -- the law -----------------------------------------------------------------------------

    def _control(
        self, reading: GridReading, settings: Settings, mode: ChargeMode, now: float
    ) -> ReportedGrid:
        grid = settings.grid
        t = self.tuning
        dt = 1.0 if self._last_step_s is None else min(max(now - self._last_step_s, 0.0), 5.0)
        self._last_step_s = now
        if self._phase is ControlPhase.FAILSAFE:
            self._recover(mode, now)

        n = grid.phases
        volts = tuple(
            p.voltage_v if p.voltage_v >= MIN_VALID_VOLTAGE_V else NOMINAL_VOLTAGE_V
            for p in reading.phases
        )
        real = tuple(i < n for i in range(3))
        active: Triple = (
            reading.phases[0].power_w / volts[0],
            reading.phases[1].power_w / volts[1] if real[1] else 0.0,
            reading.phases[2].power_w / volts[2] if real[2] else 0.0,
        )
        rms = tuple(p.current_a for p in reading.phases)
        net_w = math.fsum(p.power_w for p, r in zip(reading.phases, real, strict=True) if r)
        self._quarter.add(reading.wall_time_s, max(net_w, 0.0), reading.import_energy_kwh)

        self._tracker.set_grid_phases(n)
        self._tracker.observe(active, now, grid.min_charge_current_a, grid.current_detection_time_s)
        est = self._tracker.estimate()
        ev = est.current_a
        ev_phases = [p for p in range(3) if est.phases[p]]
        volts_per_amp = math.fsum(volts[p] for p in ev_phases)  # W per A of charge current
        limit = float(grid.max_charge_current_a)
        fuse_cap = ev + min(limit - t.fuse_margin_a - rms[p] for p in ev_phases)

        step = _Step(settings, mode, net_w, ev, volts_per_amp, dt, now)
        if mode.kind is ModeKind.CAPACITY:
            target = self._capacity(step)
        elif mode.kind is ModeKind.ECO:
            target = self._eco(step)
        else:
            target = self._eco_plus(step)
        if target is not None and est.limited_a is not None:
            # The EV takes no more than this: asking for much more only winds up a charger.
            target = min(target, est.limited_a + t.limited_headroom_a)
        if target is not None:
            target = min(target, limit, fuse_cap)
            if target < grid.min_charge_current_a:
                target = None
                self._enter(ControlPhase.OFF, "grid limit: no room for the minimum on a phase")
                self._timers.off_until = now + t.min_off_s
            elif (override := self._tracker.override_target()) is not None:
                target = override  # a response test, or a probe: is the EV still drawing?
            elif self._response_test_fits(
                mode, ev, grid.min_charge_current_a, min(limit, fuse_cap)
            ) and self._tracker.test_due(now):
                target = self._tracker.start_test()
            elif (
                abs(target - ev) < t.report_deadband_a
                and ev > 0
                and not (
                    mode.kind is ModeKind.ECO
                    and target == self._eco_floor(step)
                    and target < ev
                    and self._tracker.predicts
                )
            ):
                # Ask only for changes the grid will show: a smaller request would move the EV
                # unseen and, repeated every second, creep away from the estimate. The one
                # exception is the last step onto ECO's floor once the charger's response is
                # known: asked once and predicted, it cannot creep, and held short of the floor
                # the EV would draw up to the deadband from the grid all evening.
                target = ev
        self._target = target
        self._tracker.offer(target or 0.0, now)
        offer = _Offer(
            target, limit, float(grid.min_charge_current_a), est.per_phase(), self._tracker.gain
        )
        report = _report(reading, offer, real, volts, rms)
        self._tracker.reported(
            None if target is None else min(limit - report.phases[p].current_a for p in ev_phases)
        )
        return report

    def _response_test_fits(
        self, mode: ChargeMode, ev: float, minimum_a: float, ceiling_a: float
    ) -> bool:
        """Room for a response test's extra ampere below the limits (and the CAPACITY budget),
        and for its return above the minimum.

        ECO+ runs without tests: its sessions start and stop with the sun and hold 0.5 A above
        the minimum; in the day benchmark tests made it import more.
        """
        wanted = ev + RESPONSE_TEST_ROOM_A
        if wanted > ceiling_a or ev < minimum_a + RESPONSE_TEST_FLOOR_A:
            return False
        if mode.kind is ModeKind.CAPACITY:
            return self._available >= wanted
        return mode.kind is ModeKind.ECO

    def _solar_available(self, step: _Step, export_margin_w: float) -> float:
        available = step.ev + (-step.net_w - export_margin_w) / step.volts_per_amp
        self._available = available
        self._allowed_w = None
        return available

    def _eco(self, step: _Step) -> float:
        minimum = step.minimum
        available = self._solar_available(step, self.tuning.export_margin_w)
        if step.ev < START_FRACTION * minimum:
            self._enter(ControlPhase.STARTING, "minimum offered, waiting for the EV")
            # While the EV ramps up its estimate is the rise so far: a little above the minimum
            # keeps a rise read a few mA high from asking the charger below its minimum.
            return max(available, minimum + self.tuning.eco_starting_margin_a)
        self._enter(ControlPhase.CHARGING, "surplus plus the minimum")
        return max(available, self._eco_floor(step))

    def _eco_floor(self, step: _Step) -> float:
        return step.minimum + self.tuning.eco_minimum_margin_a

    def _eco_plus(self, step: _Step) -> float | None:
        available = self._solar_available(step, self.tuning.eco_plus_export_margin_w)
        if self._phase in (ControlPhase.OFF, ControlPhase.WAITING, ControlPhase.PAUSED):
            return self._eco_plus_idle(step, available)
        if self._phase is ControlPhase.STARTING:
            if step.ev < START_FRACTION * step.minimum:
                return self._still_starting(step)
            self._enter(ControlPhase.CHARGING, "EV current detected")
        return self._eco_plus_charging(step, available)

    def _eco_plus_idle(self, step: _Step, available: float) -> float | None:
        timers, now = self._timers, step.now
        if available < step.minimum + self.tuning.start_margin_a:
            timers.surplus_since = None
            self._enter(ControlPhase.OFF, "surplus below the minimum")
            return None
        if timers.surplus_since is None:
            timers.surplus_since = now
        if now - timers.surplus_since < self.tuning.start_delay_s:
            self._enter(ControlPhase.WAITING, "surplus carries the minimum: start timer")
            return None
        blocked = self._start_blocked(now)
        if blocked:
            self._enter(ControlPhase.WAITING, blocked)
            return None
        self._start(now)
        return step.minimum + self.tuning.minimum_margin_a

    def _still_starting(self, step: _Step) -> float | None:
        timers = self._timers
        if step.now - timers.starting_since >= step.settings.grid.charger_startup_time_s:
            timers.off_until = step.now + self.tuning.no_ev_retry_s
            timers.surplus_since = None
            self._enter(ControlPhase.OFF, "no EV current within the startup time")
            return None
        return step.minimum + self.tuning.minimum_margin_a

    def _eco_plus_charging(self, step: _Step, available: float) -> float | None:
        t, timers, now = self.tuning, self._timers, step.now
        if step.ev < START_FRACTION * step.minimum:
            # Battery full, unplugged, or the charger paused: try again after the off time (a
            # full EV then fails the startup time and waits the longer retry).
            timers.off_until = now + t.min_off_s
            timers.surplus_since = None
            self._enter(ControlPhase.OFF, "the EV stopped drawing current")
            return None
        timers.session_ev_wh += step.ev * step.volts_per_amp * step.dt / 3600.0
        if available >= step.minimum:
            timers.hold_since = None
            self._enter(ControlPhase.CHARGING, "following the surplus")
            return max(available, step.minimum + t.minimum_margin_a)
        if timers.hold_since is None:
            timers.hold_since = now
        # The import of every hold in this session counts against one budget, so the session's
        # share of grid energy stays bounded however many clouds pass.
        timers.hold_import_wh += max(step.net_w, 0.0) * step.dt / 3600.0
        budget = t.hold_import_share * timers.session_ev_wh + t.hold_import_allowance_wh
        if now - timers.hold_since >= t.stop_delay_s or timers.hold_import_wh > budget:
            timers.off_until = now + t.min_off_s
            timers.surplus_since = None
            timers.hold_since = None
            self._enter(ControlPhase.OFF, "surplus stayed below the minimum: stopped")
            return None
        self._enter(ControlPhase.HOLDING, "holding the minimum through a deficit")
        return step.minimum + t.minimum_margin_a

    def _capacity(self, step: _Step) -> float | None:
        t, timers, now, minimum = self.tuning, self._timers, step.now, step.minimum
        cap_w = step.mode.capacity_kw * 1000.0
        if step.settings.control.capacity_averaging == "instantaneous":
            allowed = cap_w * t.capacity_margin
        else:
            allowed = self._quarter.allowed_import_w(cap_w, self._wall)
        self._allowed_w = allowed
        available = step.ev + (allowed - step.net_w) / step.volts_per_amp
        self._available = available
        if self._phase in (ControlPhase.STARTING, ControlPhase.CHARGING, ControlPhase.HOLDING):
            floor = minimum + t.minimum_margin_a
            if available >= minimum or self._floor_keeps_under(step, floor, cap_w):
                if step.ev < START_FRACTION * minimum:
                    self._enter(ControlPhase.STARTING, "offering, waiting for the EV")
                else:
                    self._enter(ControlPhase.CHARGING, "within the capacity budget")
                # The floor keeps an estimate error from pausing the charger; the budget pays
                # for it next second (`available` shrinks), so the quarter stays bounded.
                return max(available, floor)
            timers.off_until = now + t.capacity_min_off_s
            timers.surplus_since = None
            self._enter(ControlPhase.PAUSED, "capacity budget below the minimum")
            return None
        if available < minimum + t.capacity_resume_margin_a:
            timers.surplus_since = None
            self._enter(ControlPhase.PAUSED, "capacity budget below the minimum")
            return None
        if timers.surplus_since is None:
            timers.surplus_since = now
        blocked = self._start_blocked(now)
        if now - timers.surplus_since < t.capacity_resume_s or blocked:
            self._enter(ControlPhase.PAUSED, blocked or "budget back: resume timer")
            return None
        self._start(now)
        return available

    def _floor_keeps_under(self, step: _Step, floor: float, cap_w: float) -> bool:
        """Whether the charger may stay at its floor although the budget's aim cannot carry it.

        The budget aims below the cap (the margin), and in a quarter's last seconds its aim
        drops steeply for a few watt-hours. Where the quarter's last minute stays within the cap
        itself with the EV at its floor, as the grid is now, a pause would only cost a stop and
        a start. Instantaneous averaging has no quarter to absorb it.
        """
        if step.settings.control.capacity_averaging == "instantaneous":
            return False
        import_w = step.net_w + (floor - step.ev) * step.volts_per_amp
        return self._quarter.keeps_under(import_w, cap_w, self._wall)

    # -- state helpers -----------------------------------------------------------------------

    def _enter(self, phase: ControlPhase, reason: str) -> None:
        self._phase = phase
        self._reason = reason

    def _start(self, now: float) -> None:
        self._starts.append(now)
        self._timers.starting_since = now
        self._timers.session_ev_wh = 0.0
        self._timers.hold_import_wh = 0.0
        self._timers.hold_since = None
        self._enter(ControlPhase.STARTING, "minimum offered, waiting for the EV")

    def _start_blocked(self, now: float) -> str:
        while self._starts and now - self._starts[0] >= 3600.0:
            self._starts.popleft()
        if now < self._timers.off_until:
            return "minimum off time"
        if len(self._starts) >= self.tuning.max_starts_per_hour:
            return "start limit per hour reached"
        return ""

    def _change_mode(self, mode: ChargeMode, now: float) -> None:
        self._mode = mode
        timers = self._timers
        timers.surplus_since = None
        timers.hold_since = None
        if self._phase is ControlPhase.FAILSAFE:
            return
        if mode.kind is not ModeKind.ECO_PLUS and self._phase in (
            ControlPhase.OFF,
            ControlPhase.WAITING,
            ControlPhase.PAUSED,
        ):
            # A person chose to charge: that overrides the off timers at once.
            timers.off_until = -math.inf
            timers.starting_since = now
            self._enter(ControlPhase.STARTING, "mode changed")

    def _recover(self, mode: ChargeMode, now: float) -> None:
        """Valid data is back after a fail-safe: the charger paused, begin again from idle."""
        self._tracker.forget_current()
        timers = self._timers
        timers.surplus_since = None
        timers.hold_since = None
        if mode.kind is ModeKind.ECO_PLUS:
            self._enter(ControlPhase.OFF, "grid data back")
        else:
            timers.starting_since = now
            self._enter(ControlPhase.STARTING, "grid data back")

    # -- reports -----------------------------------------------------------------------------

    def _failsafe(
        self, reading: GridReading | None, settings: Settings, now: float, wall_time: float
    ) -> ReportedGrid:
        if self._phase is not ControlPhase.FAILSAFE:
            self._enter(ControlPhase.FAILSAFE, "grid data missing, stale or invalid")
        self._target = None
        current = max(self.tuning.failsafe_current_a, 2.0 * settings.grid.max_charge_current_a)
        phases = []
        for p in range(3):
            measured = reading.phases[p].current_a if reading is not None else 0.0
            volts = reading.phases[p].voltage_v if reading is not None else 0.0
            if volts < MIN_VALID_VOLTAGE_V:
                volts = NOMINAL_VOLTAGE_V
            value = max(current, measured)
            phases.append(ReportedPhase(value, volts, value * volts))
        report = ReportedGrid(
            monotonic_s=now,
            wall_time_s=wall_time,
            phases=(phases[0], phases[1], phases[2]),
            frequency_hz=NOMINAL_FREQUENCY_HZ,
            failsafe=True,
            measured=reading,
        )
        self._last_report = report
        return report


@dataclass(frozen=True, slots=True)
class _Step:
    """The inputs of one control step."""

    settings: Settings
    mode: ChargeMode
    net_w: float  # net grid power over the real phases, + import
    ev: float  # estimated EV current per EV phase
    volts_per_amp: float  # W per A of charge current (sum of the EV phases' voltages)
    dt: float
    now: float

    @property
    def minimum(self) -> float:
        return float(self.settings.grid.min_charge_current_a)


@dataclass(frozen=True, slots=True)
class _Offer:
    target_a: float | None  # None: the charger must pause
    limit_a: float
    minimum_a: float
    ev_per_phase: Triple
    gain: float  # the charger's response per poll to reported headroom (learned)


def _report(
    reading: GridReading,
    offer: _Offer,
    real: tuple[bool, ...],
    volts: tuple[float, ...],
    rms: tuple[float, ...],
) -> ReportedGrid:
    phases = []
    for p in range(3):
        if not real[p]:
            current = 0.0  # not part of the network
        elif offer.target_a is None:
            # No room: "limit - (pause - EV)" puts any charger below its minimum.
            current = offer.limit_a + offer.minimum_a + offer.ev_per_phase[p]
        else:
            ev = offer.ev_per_phase[p]
            if ev > 0.0:
                # A charger that moves by only a share of the headroom per poll is offered the
                # change divided by that share, so it arrives in one poll.
                current = offer.limit_a - (offer.target_a - ev) / offer.gain
            else:
                current = offer.limit_a - offer.target_a
        current = max(current, rms[p], 0.0)  # safety invariant: never below measured
        phases.append(ReportedPhase(current, volts[p], current * volts[p]))
    return ReportedGrid(
        monotonic_s=reading.monotonic_s,
        wall_time_s=reading.wall_time_s,
        phases=(phases[0], phases[1], phases[2]),
        frequency_hz=reading.frequency_hz or NOMINAL_FREQUENCY_HZ,
        failsafe=False,
        measured=reading,
        import_energy_kwh=reading.import_energy_kwh,
        export_energy_kwh=reading.export_energy_kwh,
    )


def _faulted_phase(reading: GridReading, phases: int) -> bool:
    return any(reading.phases[p].faults & PHASE_FAULTS for p in range(min(phases, 3)))


def _hold(
    last: ReportedGrid, reading: GridReading | None, now: float, wall_time: float
) -> ReportedGrid:
    """The last report again, each phase raised to a newer measurement if one is at hand."""
    if reading is None:
        return ReportedGrid(
            monotonic_s=now,
            wall_time_s=wall_time,
            phases=last.phases,
            frequency_hz=last.frequency_hz,
            measured=last.measured,
            import_energy_kwh=last.import_energy_kwh,
            export_energy_kwh=last.export_energy_kwh,
        )
    raised = tuple(
        ReportedPhase(
            max(old.current_a, new.current_a),
            old.voltage_v,
            max(old.current_a, new.current_a) * old.voltage_v,
        )
        for old, new in zip(last.phases, reading.phases, strict=True)
    )
    return ReportedGrid(
        monotonic_s=now,
        wall_time_s=wall_time,
        phases=(raised[0], raised[1], raised[2]),
        frequency_hz=last.frequency_hz,
        measured=reading,
        import_energy_kwh=last.import_energy_kwh,
        export_energy_kwh=last.export_energy_kwh,
    )
