"""The last hour, one point per second, for the dashboard's charts (fixed memory: a ring)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from appliance.grid import ReportedGrid

SERIES = (
    "grid_l1_a",
    "grid_l2_a",
    "grid_l3_a",
    "grid_w",
    "reported_l1_a",
    "reported_l2_a",
    "reported_l3_a",
    "ev_a",
    "quarter_avg_w",
)


class History:
    def __init__(self, capacity: int = 3600) -> None:
        self.capacity = capacity
        self._time = np.zeros(capacity)
        self._values = np.full((len(SERIES), capacity), np.nan)
        self._count = 0  # points ever added; the newest is at (count - 1) % capacity

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    def add(
        self,
        reported: ReportedGrid,
        ev_current_a: float | None = None,
        quarter_average_w: float | None = None,
    ) -> None:
        measured = reported.measured
        grid = [p.signed_current_a for p in measured.phases] if measured else [np.nan] * 3
        row = [
            *grid,
            measured.total_power_w if measured else np.nan,
            *(p.current_a for p in reported.phases),
            np.nan if ev_current_a is None else ev_current_a,
            np.nan if quarter_average_w is None else quarter_average_w,
        ]
        slot = self._count % self.capacity
        self._time[slot] = reported.wall_time_s
        self._values[:, slot] = row
        self._count += 1

    def _ordered(self, array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self._count <= self.capacity:
            return array[..., : self._count]
        start = self._count % self.capacity
        return np.concatenate((array[..., start:], array[..., :start]), axis=-1)

    def series(self, since_s: float = 0.0) -> dict[str, Any]:
        """Columns newer than `since_s` (Unix time); NaN becomes None (JSON null)."""
        times = self._ordered(self._time)
        keep = times > since_s
        values = self._ordered(self._values)[:, keep]
        out: dict[str, Any] = {"time": [round(float(t), 3) for t in times[keep]]}
        for name, column in zip(SERIES, values, strict=True):
            out[name] = [None if np.isnan(v) else round(float(v), 3) for v in column]
        return out
