"""The values that flow through the appliance once per second.

`GridReading` is what was measured (CT clamps or a smart meter's P1 port); `ReportedGrid` is
what the appliance tells the charger (the controller's re-calculated values). Every output reads
the newest of each; nothing else carries measurements between packages.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

NOMINAL_VOLTAGE_V = 230.0
NOMINAL_FREQUENCY_HZ = 50.0
PHASE_COUNT = 3
# What every output reports per phase while grid data is missing, stale or invalid: an
# overloaded grid, far above any house fuse, so that every charger pauses (SPEC: fail-safe).
FAILSAFE_CURRENT_A = 100.0


class Direction(enum.StrEnum):
    """Direction of energy flow on a phase, seen from the grid connection."""

    IMPORT = "import"
    EXPORT = "export"
    NONE = "none"


class Source(enum.StrEnum):
    CT = "ct"
    P1 = "p1"


class Fault(enum.StrEnum):
    """Why a window or a phase must not be trusted. A flagged value is never silently wrong."""

    CT_MISSING = "ct_missing"  # phase: no CT plugged (open input, only bias and noise)
    CLIPPED = "clipped"  # phase: the ADC hit full scale; current above the range
    NO_VOLTAGE = "no_voltage"  # window: L1 reference below 50 V, power and direction unknown
    BAD_WINDOW = "bad_window"  # window: CRC errors or missed frames corrupted the samples
    NO_DATA = "no_data"  # window: the source delivered nothing (ADC absent, P1 silent)
    BAD_TELEGRAM = "bad_telegram"  # window: the P1 telegram was rejected


# Faults that make the whole reading unusable for steering a charger.
WINDOW_FAULTS = frozenset({Fault.NO_VOLTAGE, Fault.BAD_WINDOW, Fault.NO_DATA, Fault.BAD_TELEGRAM})


@dataclass(frozen=True, slots=True)
class PhaseReading:
    """One phase over one window. Power is signed: + import from the grid, - export to it."""

    current_a: float  # RMS, never negative
    power_w: float  # active power, signed
    voltage_v: float  # RMS phase voltage (L2/L3 derived from L1 in CT mode)
    power_factor: float = 1.0  # |P| / S, 0..1; the sign lives in `power_w` and `direction`
    direction: Direction = Direction.NONE
    faults: frozenset[Fault] = frozenset()

    @property
    def signed_current_a(self) -> float:
        """Current with the sign of the energy flow: + import, - export, 0 with no direction."""
        if self.direction is Direction.EXPORT:
            return -self.current_a
        if self.direction is Direction.IMPORT:
            return self.current_a
        return 0.0

    @property
    def apparent_power_va(self) -> float:
        return self.voltage_v * self.current_a

    @property
    def import_w(self) -> float:
        return max(self.power_w, 0.0)

    @property
    def export_w(self) -> float:
        return max(-self.power_w, 0.0)

    @staticmethod
    def absent(voltage_v: float = 0.0) -> PhaseReading:
        """A phase that is not part of the network (1-phase grid): zero, no direction."""
        return PhaseReading(current_a=0.0, power_w=0.0, voltage_v=voltage_v, power_factor=0.0)


@dataclass(frozen=True, slots=True)
class GridReading:
    """One 1-second window of the grid connection: always three phases, L1..L3.

    In a 1-phase network L2 and L3 are `PhaseReading.absent()`; `phase_count` says how many
    phases are real.
    """

    monotonic_s: float  # end of the window, on the monotonic clock (ages, scheduling)
    wall_time_s: float  # end of the window, Unix time (timestamps, quarter hours)
    source: Source
    phases: tuple[PhaseReading, PhaseReading, PhaseReading]
    phase_count: int = PHASE_COUNT
    frequency_hz: float | None = NOMINAL_FREQUENCY_HZ
    faults: frozenset[Fault] = frozenset()
    # P1 source: energy registers of the meter; CT source: integrated by the acquisition loop.
    import_energy_kwh: float = 0.0
    export_energy_kwh: float = 0.0

    @property
    def valid(self) -> bool:
        """True when the window may steer a charger (no window-level fault)."""
        return not (self.faults & WINDOW_FAULTS)

    @property
    def total_power_w(self) -> float:
        return math.fsum(p.power_w for p in self.phases)

    @property
    def total_current_a(self) -> float:
        return math.fsum(p.current_a for p in self.phases)

    @property
    def voltage_l1_v(self) -> float:
        return self.phases[0].voltage_v

    def age_s(self, now_monotonic: float) -> float:
        return now_monotonic - self.monotonic_s

    def all_faults(self) -> frozenset[Fault]:
        """Window faults plus every phase's faults."""
        out = set(self.faults)
        for phase in self.phases:
            out |= phase.faults
        return frozenset(out)


@dataclass(frozen=True, slots=True)
class ReportedPhase:
    """What the charger is told about one phase (the controller's re-calculated value)."""

    current_a: float  # RMS, never negative (Modbus maps carry unsigned currents)
    voltage_v: float
    power_w: float  # signed like the measurement: + import, - export

    @property
    def apparent_power_va(self) -> float:
        return self.voltage_v * self.current_a


@dataclass(frozen=True, slots=True)
class ReportedGrid:
    """The controller's output for one window; Modbus maps and screens read it."""

    monotonic_s: float
    wall_time_s: float
    phases: tuple[ReportedPhase, ReportedPhase, ReportedPhase]
    frequency_hz: float = NOMINAL_FREQUENCY_HZ
    failsafe: bool = (
        False  # True while grid data is stale or invalid: an overloaded grid is reported
    )
    measured: GridReading | None = field(default=None, compare=False)
    import_energy_kwh: float = 0.0
    export_energy_kwh: float = 0.0

    @property
    def total_current_a(self) -> float:
        return math.fsum(p.current_a for p in self.phases)

    @property
    def total_power_w(self) -> float:
        return math.fsum(p.power_w for p in self.phases)

    @property
    def total_apparent_power_va(self) -> float:
        return math.fsum(p.apparent_power_va for p in self.phases)

    @staticmethod
    def passthrough(reading: GridReading) -> ReportedGrid:
        """Report what was measured, unchanged (the meter behaviour without control)."""
        return ReportedGrid(
            monotonic_s=reading.monotonic_s,
            wall_time_s=reading.wall_time_s,
            phases=tuple(  # type: ignore[arg-type]
                ReportedPhase(p.current_a, p.voltage_v, p.power_w) for p in reading.phases
            ),
            frequency_hz=reading.frequency_hz or NOMINAL_FREQUENCY_HZ,
            measured=reading,
            import_energy_kwh=reading.import_energy_kwh,
            export_energy_kwh=reading.export_energy_kwh,
        )
