"""Simulation only: an EV behind a charger that reads our Modbus registers, loading the simulated
grid. The CT path measures the EV that our own reports steer, so a newcomer sees the charge
modes work: the loop runs through the real metering, controller and register map."""

from __future__ import annotations

import asyncio
import threading

from appliance.runtime.acquisition import simulated_grid
from appliance.runtime.context import RuntimeContext
from appliance.sim.ev import EvSpec
from appliance.sim.ev_load import EvLoad
from appliance.sim.signals import PhaseCurrent

SERVICE_NAME = "simulated_ev"
CHARGER_METERS = ("emu_professional", "eastron_sdm630")  # the ones the simulated charger reads


async def run_simulated_ev(ctx: RuntimeContext) -> None:
    if not ctx.simulate:
        await asyncio.Event().wait()  # only the simulation has a simulated car
    settings = ctx.settings.current
    meter = settings.meter.emulate
    load = EvLoad(
        EvSpec(phases=settings.grid.phases, plug_in_h=0.0),
        grid_limit_a=settings.grid.max_charge_current_a,
        min_current_a=settings.grid.min_charge_current_a,
        wired_phases=settings.grid.phases,
        meter=meter if meter in CHARGER_METERS else "emu_professional",
    )
    ctx.services[SERVICE_NAME] = load
    # The fake ADC samples the grid on its reader thread; the charger polls on the loop.
    lock = threading.Lock()

    def current(t_s: float) -> tuple[PhaseCurrent, PhaseCurrent, PhaseCurrent]:
        with lock:
            l1, l2, l3 = load.current_at(t_s)
        return PhaseCurrent(l1), PhaseCurrent(l2), PhaseCurrent(l3)

    grid = simulated_grid(ctx)
    handle = grid.add_load_source(current)
    try:
        async for reported in ctx.hub.reported.updates():
            with lock:
                load.poll(reported, ctx.clock.monotonic())
    finally:
        grid.remove_load_source(handle)
