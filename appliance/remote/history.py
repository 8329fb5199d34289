"""The last hour, one point per second, for the dashboard's charts (fixed memory: a ring)."""

from __future__ import annotations

import json
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
        self._whole_json: tuple[int, bytes] | None = None  # (count, body) of series(0)

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
        """Columns newer than `since_s` (Unix time); NaN becomes None (JSON null).

        Vectorised: a full hour (9 x 3600 values) is built in a few milliseconds, because the
        request runs in the loop that also serves Modbus and P1."""
        times = self._ordered(self._time)
        keep = times > since_s
        values = np.round(self._ordered(self._values)[:, keep], 3)
        out: dict[str, Any] = {"time": np.round(times[keep], 3).tolist()}
        for name, column in zip(SERIES, values, strict=True):
            listed: list[float | None] = column.tolist()
            missing = np.flatnonzero(np.isnan(column))
            for index in missing.tolist():
                listed[index] = None
            out[name] = listed
        return out

    def series_json(self, since_s: float = 0.0) -> bytes:
        """`series` as JSON. The whole hour (what every dashboard asks for first) is encoded at
        most once per new point, however many pages load at the same time."""
        if since_s > 0:
            return _compact(self.series(since_s))
        if self._whole_json is None or self._whole_json[0] != self._count:
            self._whole_json = (self._count, _compact(self.series(0.0)))
        return self._whole_json[1]


def _compact(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
