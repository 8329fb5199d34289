"""The dashboard's one-hour ring: order after wrapping, gaps as null, the cached whole hour."""

from __future__ import annotations

import json
from dataclasses import replace

from appliance.grid import ReportedGrid, ReportedPhase
from appliance.remote.history import SERIES, History

PHASE = ReportedPhase(current_a=1.23456, voltage_v=230.0, power_w=284.0)
GRID = ReportedGrid(monotonic_s=0.0, wall_time_s=0.0, phases=(PHASE, PHASE, PHASE))


def _filled(history: History, points: int, start: float = 1000.0) -> History:
    for i in range(points):
        ev = None if i % 2 else float(i)
        history.add(replace(GRID, wall_time_s=start + i), ev_current_a=ev, quarter_average_w=5.0)
    return history


def test_wrapped_ring_is_oldest_first_and_bounded() -> None:
    history = _filled(History(capacity=10), 25)
    series = history.series()
    assert series["time"] == [1015.0 + i for i in range(10)]
    assert len(history) == 10
    assert set(series) == {"time", *SERIES}


def test_missing_values_are_null_and_values_rounded() -> None:
    series = _filled(History(capacity=4), 4).series()
    assert series["ev_a"] == [0.0, None, 2.0, None]
    assert series["grid_l1_a"] == [None] * 4  # no measured reading attached
    assert series["reported_l1_a"] == [1.235] * 4
    json.dumps(series, allow_nan=False)  # valid JSON: no NaN left


def test_series_json_matches_series_and_follows_new_points() -> None:
    history = _filled(History(capacity=100), 5)
    assert json.loads(history.series_json()) == history.series()
    first = history.series_json()
    assert history.series_json() is first  # the whole hour is encoded once per point
    _filled(history, 1, start=2000.0)
    assert json.loads(history.series_json())["time"][-1] == 2000.0
    assert json.loads(history.series_json(1003.5))["time"] == [1004.0, 2000.0]
