"""Quarter-hour budgeting for CAPACITY (the Flemish capacity tariff's 15-minute average peak).

The grid meter bills the average *import* power of each wall-clock quarter (:00, :15, :30, :45).
`QuarterBudget` integrates the imported energy of the current quarter from the readings and turns
"energy used so far" and "time left" into the import power still allowed right now:

    allowed = (cap x 900 s x margin - energy so far) / time left

bounded to [0, cap x catch-up] so a quiet start of the quarter does not turn into a burst the
charger cannot follow, and never above the cap in the quarter's last minute (a late burst has no
time left to be corrected).

Restart mid-quarter: `QuarterState` is a small JSON-able record that the runtime persists now and
then. On restore the energy of the gap is rebuilt from the meter's import register when the
readings carry one (P1), else assumed to have flowed at the quarter's average so far.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

QUARTER_S = 900.0
# Longest gap between two readings that is integrated as measured; a longer gap is bridged at the
# average power seen so far in the quarter (the appliance cannot know what flowed meanwhile).
MAX_INTEGRATION_STEP_S = 5.0


def quarter_index(wall_time_s: float) -> int:
    """Number of the quarter hour containing `wall_time_s`.

    Every time zone in use is offset from UTC by a multiple of 15 minutes, so Unix-time quarters
    coincide with local :00/:15/:30/:45 boundaries.
    """
    return math.floor(wall_time_s / QUARTER_S)


@dataclass(frozen=True, slots=True)
class QuarterState:
    """What survives a restart: which quarter, its imported energy, and where we stood."""

    index: int
    energy_j: float
    last_wall_time_s: float
    meter_import_kwh_at_start: float | None = None  # the meter's register at the quarter start

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> QuarterState:
        meter = data.get("meter_import_kwh_at_start")
        return QuarterState(
            index=int(data["index"]),
            energy_j=float(data["energy_j"]),
            last_wall_time_s=float(data["last_wall_time_s"]),
            meter_import_kwh_at_start=None if meter is None else float(meter),
        )


@dataclass(frozen=True, slots=True)
class QuarterFigures:
    """The quarter as screens and the dashboard show it."""

    index: int
    energy_wh: float
    average_w: float  # average import since the quarter began
    elapsed_s: float
    left_s: float


class QuarterBudget:
    def __init__(self, margin: float = 0.97, catch_up: float = 1.25, final_s: float = 60.0) -> None:
        self.margin = margin
        self.catch_up = catch_up
        self.final_s = final_s
        self._state: QuarterState | None = None
        self._restored: QuarterState | None = None

    @property
    def state(self) -> QuarterState | None:
        return self._state

    def restore(self, state: QuarterState) -> None:
        """Continue a quarter that a previous run began (used before the first reading)."""
        self._restored = state

    def add(self, wall_time_s: float, import_power_w: float, meter_import_kwh: float) -> None:
        """Account one reading: `import_power_w` = max(net power, 0) over the window."""
        index = quarter_index(wall_time_s)
        meter = meter_import_kwh if meter_import_kwh > 0 else None
        state = self._state
        if state is None and self._restored is not None:
            resumed = self._resume(self._restored, index, wall_time_s, meter)
            self._restored = None
            if resumed is not None:
                self._state = resumed
                return
        if state is None or state.index != index:
            # A new quarter starts (or the first one is joined late: the part before we began is
            # unknown, so it is counted at the power of the first reading).
            begin = index * QUARTER_S
            elapsed = wall_time_s - begin
            joined_late = state is None
            energy = import_power_w * (elapsed if joined_late else min(elapsed, 1.0))
            self._state = QuarterState(index, energy, wall_time_s, meter)
            return
        step = wall_time_s - state.last_wall_time_s
        if step <= 0:
            return
        power = import_power_w
        if step > MAX_INTEGRATION_STEP_S:
            power = max(power, self._average(state))
        self._state = QuarterState(
            index,
            state.energy_j + power * step,
            wall_time_s,
            state.meter_import_kwh_at_start,
        )

    def _resume(
        self, saved: QuarterState, index: int, wall_time_s: float, meter: float | None
    ) -> QuarterState | None:
        if saved.index != index:
            return None
        if saved.meter_import_kwh_at_start is not None and meter is not None:
            energy = max(meter - saved.meter_import_kwh_at_start, 0.0) * 3.6e6
            return QuarterState(index, energy, wall_time_s, saved.meter_import_kwh_at_start)
        gap = max(wall_time_s - saved.last_wall_time_s, 0.0)
        return QuarterState(index, saved.energy_j + self._average(saved) * gap, wall_time_s, None)

    @staticmethod
    def _average(state: QuarterState) -> float:
        elapsed = state.last_wall_time_s - state.index * QUARTER_S
        return state.energy_j / elapsed if elapsed > 0 else 0.0

    def allowed_import_w(self, cap_w: float, wall_time_s: float) -> float:
        """Import power allowed now so the quarter's average stays under `cap_w`."""
        state = self._state
        if state is None or state.index != quarter_index(wall_time_s):
            return cap_w * self.margin
        left = (state.index + 1) * QUARTER_S - wall_time_s
        budget = cap_w * QUARTER_S * self.margin - state.energy_j
        allowed = budget if left <= 1.0 else budget / left
        ceiling = cap_w * self.margin if left <= self.final_s else cap_w * self.catch_up
        return min(max(allowed, 0.0), ceiling)

    def keeps_under(self, import_w: float, cap_w: float, wall_time_s: float) -> bool:
        """Whether, in the quarter's last minute, importing `import_w` until it ends keeps its
        average within `cap_w` itself (the margin is the aim, the cap the bill). Earlier the
        margin stays whole: it absorbs the household's surprises in the time that is left."""
        state = self._state
        if state is None or state.index != quarter_index(wall_time_s):
            return False  # a quarter that has just begun
        left = max((state.index + 1) * QUARTER_S - wall_time_s, 0.0)
        if left > self.final_s:
            return False
        return state.energy_j + max(import_w, 0.0) * left <= cap_w * QUARTER_S

    def figures(self, wall_time_s: float) -> QuarterFigures | None:
        state = self._state
        if state is None:
            return None
        begin = state.index * QUARTER_S
        elapsed = max(state.last_wall_time_s - begin, 0.0)
        return QuarterFigures(
            index=state.index,
            energy_wh=state.energy_j / 3600.0,
            average_w=state.energy_j / elapsed if elapsed > 0 else 0.0,
            elapsed_s=elapsed,
            left_s=max(begin + QUARTER_S - wall_time_s, 0.0),
        )
