"""The safety invariant: every phase's reported current >= its measured current, at every step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.clock import FakeClock
from appliance.control import Controller
from appliance.grid import Fault
from appliance.modes import available_modes
from appliance.sim.day import build_reading
from tests.control.harness import make_settings

power = st.floats(min_value=-18_000.0, max_value=18_000.0, allow_nan=False)
step = st.tuples(
    st.tuples(power, power, power),
    st.sampled_from(["ok", "ok", "ok", "ok", "none", "fault"]),
    st.sampled_from([1.0, 1.0, 1.0, 0.5, 3.0, 12.0]),  # seconds to the next step
)


@settings(max_examples=100, deadline=None)
@given(
    phases=st.sampled_from([1, 3]),
    mode_index=st.integers(min_value=0, max_value=30),
    limit=st.integers(min_value=6, max_value=40),
    steps=st.lists(step, min_size=1, max_size=80),
)
def test_reported_is_never_below_measured(
    phases: int, mode_index: int, limit: int, steps: list[tuple[tuple[float, ...], str, float]]
) -> None:
    settings_ = make_settings(phases=phases, max_charge_current_a=limit)
    modes = available_modes(phases, limit)
    mode = modes[mode_index % len(modes)]
    clock = FakeClock()
    controller = Controller()
    for powers, kind, gap in steps:
        values = np.array(powers if phases == 3 else (powers[0], 0.0, 0.0))
        reading = build_reading(values, 230.0, phases, clock.monotonic(), clock.time())
        if kind == "fault":
            reading = replace(reading, faults=frozenset({Fault.BAD_WINDOW}))
        given_reading = None if kind == "none" else reading
        report = controller.update(
            given_reading, settings_, mode, now=clock.monotonic(), wall_time=clock.time()
        )
        if given_reading is not None:
            for reported, measured in zip(report.phases, given_reading.phases, strict=True):
                assert reported.current_a >= measured.current_a - 1e-9
        assert all(p.current_a >= 0.0 for p in report.phases)
        clock.advance(gap)
