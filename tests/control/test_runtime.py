"""`run_control`: one report per reading, a tick that notices silence, mode from the settings,
status for other parts, and the quarter state kept across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from appliance.clock import FakeClock
from appliance.grid import ReportedGrid
from appliance.modes import ECO
from appliance.runtime.context import RuntimeContext
from appliance.runtime.control import STATE_FILE, ControlService, run_control
from appliance.sim.day import build_reading
from tests.context import make_context
from tests.control.harness import make_settings

TICK_S = 0.01


def make_ctx(state_dir: Path, clock: FakeClock) -> RuntimeContext:
    return make_context(state_dir, clock, settings=make_settings(mode="eco+"))


def publish_reading(ctx: RuntimeContext, clock: FakeClock, import_w: float = 3000.0) -> None:
    powers = np.array([import_w / 3] * 3)
    ctx.hub.readings.publish(build_reading(powers, 230.0, 3, clock.monotonic(), clock.time()))


async def next_report(ctx: RuntimeContext, accept: object = None) -> ReportedGrid:
    async def wait() -> ReportedGrid:
        while True:
            report = await ctx.hub.reported.next()
            if accept is None or (callable(accept) and accept(report)):
                return report

    return await asyncio.wait_for(wait(), timeout=5.0)


async def test_reports_follow_readings_and_silence_ends_in_the_failsafe(
    state_dir: Path, clock: FakeClock
) -> None:
    ctx = make_ctx(state_dir, clock)
    task = asyncio.create_task(run_control(ctx, tick_s=TICK_S))
    try:
        await asyncio.sleep(0)
        for _ in range(3):
            clock.advance(1.0)
            publish_reading(ctx, clock)
            report = await next_report(ctx, lambda r: r.measured is ctx.hub.readings.latest)
            assert not report.failsafe
        service = ctx.services["control"]
        assert isinstance(service, ControlService)
        assert service.status().mode == "eco+"
        # The mode lands in the settings (buttons, web, API); the next step uses it.
        ctx.settings.update(ctx.settings.current.with_mode(ECO))
        clock.advance(1.0)
        publish_reading(ctx, clock)
        await next_report(ctx, lambda r: service.status().mode == "eco")
        # Readings stop: the 1 s tick notices once the data is older than the stale limit.
        clock.advance(ctx.settings.current.metering.stale_after_s)
        report = await next_report(ctx, lambda r: r.failsafe)
        assert all(p.current_a >= 64.0 for p in report.phases)
        # And recovers with fresh data.
        clock.advance(1.0)
        publish_reading(ctx, clock)
        await next_report(ctx, lambda r: not r.failsafe)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        ctx.pin_factory.close()


async def test_quarter_state_survives_a_restart(state_dir: Path, clock: FakeClock) -> None:
    ctx = make_ctx(state_dir, clock)
    task = asyncio.create_task(run_control(ctx, tick_s=TICK_S))
    await asyncio.sleep(0)
    for _ in range(30):
        clock.advance(1.0)
        publish_reading(ctx, clock, import_w=6000.0)
        await next_report(ctx, lambda r: r.measured is ctx.hub.readings.latest)
    service = ctx.services["control"]
    energy_before = service.controller.quarter_state.energy_j
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert (state_dir / STATE_FILE).exists()

    again = make_ctx(state_dir, clock)
    task = asyncio.create_task(run_control(again, tick_s=TICK_S))
    try:
        await asyncio.sleep(0)
        clock.advance(1.0)
        publish_reading(again, clock, import_w=6000.0)
        await next_report(again, lambda r: r.measured is again.hub.readings.latest)
        state = again.services["control"].controller.quarter_state
        assert state.energy_j >= energy_before
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        ctx.pin_factory.close()
        again.pin_factory.close()
