"""CT acquisition: 1-second blocks from the ADC, through the engine, onto `ctx.hub.readings`.

Every second produces a reading. When the ADC fails, the reading says so (NO_DATA when the chip
cannot be opened or read, BAD_WINDOW when its frames were corrupt) and the ADC is reopened with
backoff; the fail-safe downstream acts on those flags and on the reading's age.

Simulation: `ctx.services["scenario"]` holds a `Scenario` (see `load_scenario`); the fake chip
is fed by one shared `ScenarioSignals`, which other simulators reach with `simulated_grid(ctx)`
to add their loads. `ctx.services["sim_speed"]` (default 1.0) runs faster than real time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from appliance.clock import Clock
from appliance.grid import Fault, GridReading
from appliance.metering import EngineState, MeteringConfig, measure_window, no_data_reading
from appliance.runtime.context import RuntimeContext
from appliance.settings import Settings
from appliance.sim.scenario import Scenario
from appliance.sim.signals import ScenarioSignals
from drivers.adc import open_adc, open_simulated_adc
from drivers.adc.base import AdcDriver
from drivers.errors import DriverError, FrameError
from drivers.pinmap import PinMap
from drivers.virtual_time import VirtualClock

log = logging.getLogger(__name__)

WINDOW_S = 1.0
SCENARIO_SERVICE = "scenario"
SPEED_SERVICE = "sim_speed"
GRID_SIGNALS_SERVICE = "grid_signals"
BACKOFF_S = (1.0, 2.0, 5.0, 10.0)  # waits between attempts to reopen a failing ADC

AdcOpener = Callable[[Settings], AdcDriver]
Sleep = Callable[[float], Awaitable[None]]


def restart_key(settings: Settings) -> tuple[object, ...]:
    """The settings whose change reopens the ADC and rebuilds the engine's configuration."""
    grid, metering = settings.grid, settings.metering
    return (
        grid.metering_device,
        grid.network,
        grid.rotation,
        grid.ct_ratio,
        metering.adc,
        metering.burden_ohm,
        metering.voltage,
        metering.current,
    )


class Meter:
    """An open ADC plus the engine's state: `read()` blocks for one window, returns a reading.

    Synchronous on purpose: `scc measure` calls it directly, the runtime in a worker thread.
    """

    def __init__(self, adc: AdcDriver, config: MeteringConfig, state: EngineState) -> None:
        self.adc = adc
        self.config = config
        self.state = state

    def read(self, clock: Clock) -> GridReading:
        """One window. A `DriverError` propagates; the caller publishes the flagged reading."""
        block = self.adc.read_block(WINDOW_S)
        reading, self.state = measure_window(
            block,
            self.config,
            self.state,
            monotonic_s=clock.monotonic(),
            wall_time_s=clock.time(),
        )
        return reading

    def close(self) -> None:
        self.adc.close()


def failure_reading(
    clock: Clock, error: DriverError, state: EngineState, settings: Settings
) -> GridReading:
    """What a failed window publishes: corrupt frames are a bad window, anything else no data."""
    fault = Fault.BAD_WINDOW if isinstance(error, FrameError) else Fault.NO_DATA
    return no_data_reading(
        clock.monotonic(), clock.time(), fault, state, phase_count=settings.grid.phases
    )


def hat_opener(pinmap: PinMap, pin_factory: Any = None) -> AdcOpener:
    """An opener for the HAT's ADC on the Pi's SPI bus, pins from the hardware pin map."""

    def opener(settings: Settings) -> AdcDriver:
        return open_adc(settings.metering.adc, pinmap=pinmap, pin_factory=pin_factory)

    return opener


def scenario_opener(
    signals: ScenarioSignals, seed: int, *, pinmap: PinMap | None = None, pin_factory: Any = None
) -> AdcOpener:
    """An opener for the fake chip of the configured ADC, fed by `signals`.

    All chips it opens share one virtual clock, so a reopened chip continues the scenario
    where the previous one stopped instead of starting it again.
    """
    virtual = VirtualClock(signals.origin_s)

    def opener(settings: Settings) -> AdcDriver:
        return open_simulated_adc(
            settings.metering.adc,
            signals,
            seed,
            burden_ohm=settings.metering.burden_ohm,
            ct_ratio=float(settings.grid.ct_ratio),
            pinmap=pinmap,
            pin_factory=pin_factory,
            clock=virtual,
        )

    return opener


def simulated_grid(ctx: RuntimeContext) -> ScenarioSignals:
    """The one simulated grid of this run (created on first use from the loaded scenario)."""
    existing = ctx.services.get(GRID_SIGNALS_SERVICE)
    if isinstance(existing, ScenarioSignals):
        return existing
    scenario = ctx.services.get(SCENARIO_SERVICE)
    if not isinstance(scenario, Scenario):
        raise TypeError(f'ctx.services["{SCENARIO_SERVICE}"] must hold a loaded Scenario')
    signals = ScenarioSignals(scenario)
    ctx.services[GRID_SIGNALS_SERVICE] = signals
    return signals


@dataclass
class _Pacer:
    """Keeps simulated windows at `speed` x real time on the context's clock."""

    clock: Clock
    speed: float  # 0 or less: as fast as the CPU allows
    sleep: Sleep
    _next: float | None = None

    async def wait(self) -> None:
        if self.speed <= 0.0:
            await self.sleep(0.0)  # still yield to the loop between windows
            return
        now = self.clock.monotonic()
        self._next = now if self._next is None else max(self._next + WINDOW_S / self.speed, now)
        await self.sleep(max(self._next - now, 0.0))


async def run_acquisition(
    ctx: RuntimeContext, *, opener: AdcOpener | None = None, sleep: Sleep = asyncio.sleep
) -> None:
    """Measure while the metering device is the CTs; idle (waiting for settings) otherwise."""
    if opener is None:
        if ctx.simulate:
            scenario = ctx.services.get(SCENARIO_SERVICE)
            seed = scenario.seed if isinstance(scenario, Scenario) else 0
            opener = scenario_opener(
                simulated_grid(ctx), seed, pinmap=ctx.pinmap, pin_factory=ctx.pin_factory
            )
        else:
            opener = hat_opener(ctx.pinmap, ctx.pin_factory)
    speed = float(ctx.services.get(SPEED_SERVICE, 1.0)) if ctx.simulate else 0.0
    pacer = _Pacer(ctx.clock, speed, sleep)
    state = EngineState()
    while True:
        settings = ctx.settings.current
        if settings.grid.metering_device != "ct":
            await ctx.settings.changes.next()
            continue
        state = await _measure_until_change(
            ctx, settings, opener=opener, state=state, pacer=pacer, sleep=sleep
        )


async def _measure_until_change(
    ctx: RuntimeContext,
    settings: Settings,
    *,
    opener: AdcOpener,
    state: EngineState,
    pacer: _Pacer,
    sleep: Sleep,
) -> EngineState:
    """Open, measure, and return (keeping the energy counters) once the relevant settings change."""
    key = restart_key(settings)
    config = MeteringConfig.from_settings(settings)
    failures = 0
    meter: Meter | None = None
    try:
        while restart_key(ctx.settings.current) == key:
            try:
                if meter is None:
                    meter = Meter(await asyncio.to_thread(opener, settings), config, state)
                await pacer.wait()
                reading = await _read_in_thread(meter, ctx.clock)
                state = meter.state
                failures = 0
            except DriverError as error:
                log.warning("ADC error (%s); reopening with backoff", error)
                if meter is not None:
                    state = meter.state
                    await asyncio.to_thread(meter.close)
                    meter = None
                ctx.hub.readings.publish(failure_reading(ctx.clock, error, state, settings))
                await _backoff(
                    ctx, settings, state=state, error=error, failures=failures, sleep=sleep
                )
                failures += 1
                continue
            ctx.hub.readings.publish(reading)
    finally:
        if meter is not None:
            meter.close()
    return state


async def _read_in_thread(meter: Meter, clock: Clock) -> GridReading:
    """Read in a worker thread; a cancelled caller still waits for the thread before closing."""
    task = asyncio.ensure_future(asyncio.to_thread(meter.read, clock))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise


async def _backoff(
    ctx: RuntimeContext,
    settings: Settings,
    *,
    state: EngineState,
    error: DriverError,
    failures: int,
    sleep: Sleep,
) -> None:
    """Wait before reopening, still publishing a flagged reading every second (never silence)."""
    wait_s = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
    key = restart_key(settings)
    waited = WINDOW_S
    await sleep(WINDOW_S)
    while waited < wait_s and restart_key(ctx.settings.current) == key:
        ctx.hub.readings.publish(failure_reading(ctx.clock, error, state, settings))
        await sleep(WINDOW_S)
        waited += WINDOW_S
