"""The acquisition loop: a reading every window, flagged readings on ADC errors, restarts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from appliance.clock import FakeClock
from appliance.grid import Fault, GridReading
from appliance.identity import DeviceIdentity
from appliance.runtime.acquisition import (
    SCENARIO_SERVICE,
    SPEED_SERVICE,
    AdcOpener,
    run_acquisition,
    simulated_grid,
)
from appliance.runtime.context import Hub, RuntimeContext, SettingsHolder
from appliance.settings import Settings, SettingsStore
from appliance.sim import ScenarioSignals, parse_scenario
from drivers.adc.base import AdcDriver
from drivers.adc.fake_mcp3208 import FakeMcp3208
from drivers.adc.frontend import mcp3208_front_end
from drivers.adc.mcp3208 import Mcp3208
from drivers.errors import ChipNotFoundError, FrameError
from drivers.pinmap import load_pinmap

SCENARIO = parse_scenario(
    'name = "steady"\nnetwork = "star"\n[[load]]\nphase = "all"\ncurrent_a = 10.0\n'
)


def make_ctx(clock: FakeClock, state_dir: Path, settings: Settings | None = None) -> RuntimeContext:
    ctx = RuntimeContext(
        settings=SettingsHolder(SettingsStore(state_dir / "settings.json"), settings or Settings()),
        hub=Hub(),
        clock=clock,
        identity=DeviceIdentity("0000008879"),
        pinmap=load_pinmap(),
        pin_factory=None,
        state_dir=state_dir,
        simulate=True,
    )
    ctx.services[SCENARIO_SERVICE] = SCENARIO
    ctx.services[SPEED_SERVICE] = 0.0
    return ctx


def fake_chip_opener(signals: ScenarioSignals, log: list[Settings]) -> AdcOpener:
    """The real MCP3208 driver on its fake chip (virtual time: no real waiting)."""

    def opener(settings: Settings) -> AdcDriver:
        log.append(settings)
        chip = FakeMcp3208(
            signals,
            np.random.default_rng(len(log)),
            front_end=mcp3208_front_end(settings.metering.burden_ohm, settings.grid.ct_ratio),
        )
        return Mcp3208(chip, chip.clock.monotonic)

    return opener


def clock_sleep(clock: FakeClock) -> Callable[[float], asyncio.Future[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return sleep  # type: ignore[return-value]


async def collect(ctx: RuntimeContext, count: int, **kwargs: object) -> list[GridReading]:
    seen: list[GridReading] = []

    async def consume() -> None:
        while len(seen) < count:
            seen.append(await ctx.hub.readings.next())

    consumer = asyncio.create_task(consume())
    producer = asyncio.create_task(run_acquisition(ctx, **kwargs))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(consumer, 30)
    finally:
        producer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await producer
    return seen


async def test_every_window_becomes_a_reading_with_energy(
    clock: FakeClock, state_dir: Path
) -> None:
    ctx = make_ctx(clock, state_dir)
    opened: list[Settings] = []
    readings = await collect(
        ctx, 3, opener=fake_chip_opener(simulated_grid(ctx), opened), sleep=clock_sleep(clock)
    )
    assert len(opened) == 1
    for reading in readings:
        assert reading.valid
        assert reading.age_s(clock.monotonic()) >= 0
        assert all(abs(p.current_a - 10.0) < 0.1 for p in reading.phases)
    energies = [r.import_energy_kwh for r in readings]
    assert energies[0] < energies[1] < energies[2]
    assert abs((energies[2] - energies[1]) - 3 * 2300 / 3.6e6) < 0.01 * 3 * 2300 / 3.6e6


async def test_an_absent_chip_gives_flagged_readings_and_retries(
    clock: FakeClock, state_dir: Path
) -> None:
    ctx = make_ctx(clock, state_dir)
    attempts: list[Settings] = []
    working = fake_chip_opener(simulated_grid(ctx), [])

    def flaky(settings: Settings) -> AdcDriver:
        attempts.append(settings)
        if len(attempts) <= 2:
            raise ChipNotFoundError("MISO stuck")
        return working(settings)

    readings = await collect(ctx, 12, opener=flaky, sleep=clock_sleep(clock))
    flagged = [r for r in readings if not r.valid]
    assert flagged, "a failing ADC must never be silent"
    assert all(r.faults == {Fault.NO_DATA} for r in flagged)
    assert readings[-1].valid
    assert len(attempts) == 3  # backoff: 1 s, then 2 s, not a retry every window
    stamps = [r.monotonic_s for r in readings[: len(flagged)]]
    assert all(b - a <= 1.0 + 1e-9 for a, b in itertools.pairwise(stamps))


async def test_corrupt_frames_give_a_bad_window(clock: FakeClock, state_dir: Path) -> None:
    ctx = make_ctx(clock, state_dir)

    class CorruptAdc:
        roles = ("voltage", "ct1", "ct2", "ct3")
        nominal_rate_hz = 4000.0

        def read_block(self, duration_s: float) -> object:
            raise FrameError("CRC errors on every frame")

        def close(self) -> None:
            pass

    readings = await collect(
        ctx,
        2,
        opener=lambda _s: CorruptAdc(),
        sleep=clock_sleep(clock),
    )
    assert all(r.faults == {Fault.BAD_WINDOW} for r in readings)


async def test_an_adc_setting_change_reopens_the_adc(clock: FakeClock, state_dir: Path) -> None:
    ctx = make_ctx(clock, state_dir)
    opened: list[Settings] = []
    opener = fake_chip_opener(simulated_grid(ctx), opened)
    seen: list[GridReading] = []

    async def consume() -> None:
        while len(seen) < 6:
            seen.append(await ctx.hub.readings.next())
            if len(seen) == 2:
                current = ctx.settings.current
                metering = current.metering.model_dump() | {"burden_ohm": 40.0}
                ctx.settings.update(
                    Settings.model_validate(current.model_dump() | {"metering": metering})
                )

    producer = asyncio.create_task(run_acquisition(ctx, opener=opener, sleep=clock_sleep(clock)))
    await asyncio.wait_for(consume(), 30)
    producer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await producer
    assert [s.metering.burden_ohm for s in opened] == [20.0, 40.0]
    assert all(r.valid and abs(r.phases[0].current_a - 10.0) < 0.1 for r in seen)


async def test_nothing_is_measured_while_the_p1_port_is_the_meter(
    clock: FakeClock, state_dir: Path
) -> None:
    base = Settings()
    p1 = Settings.model_validate(
        base.model_dump() | {"grid": base.grid.model_dump() | {"metering_device": "p1"}}
    )
    ctx = make_ctx(clock, state_dir, p1)
    opened: list[Settings] = []
    producer = asyncio.create_task(
        run_acquisition(ctx, opener=fake_chip_opener(simulated_grid(ctx), opened))
    )
    for _ in range(5):
        await asyncio.sleep(0)
    assert opened == []
    assert ctx.hub.readings.latest is None
    ctx.settings.update(base)
    reading = await asyncio.wait_for(ctx.hub.readings.next(), 30)
    assert reading.valid
    assert len(opened) == 1
    producer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await producer


async def test_in_simulation_the_fake_chip_follows_the_scenario_through_a_dead_chip(
    clock: FakeClock, state_dir: Path
) -> None:
    ctx = make_ctx(clock, state_dir)
    ctx.services[SCENARIO_SERVICE] = parse_scenario(
        'name = "dead"\n[[load]]\nphase = "all"\ncurrent_a = 5.0\n'
        '[[fault]]\nkind = "chip_dead"\nstart_s = 2\nstop_s = 4\n'
    )
    readings = await collect(ctx, 8, sleep=clock_sleep(clock))
    assert readings[0].valid
    assert abs(readings[0].phases[0].current_a - 5.0) < 0.05
    flagged = [r for r in readings if not r.valid]
    assert flagged
    assert all(r.faults & {Fault.BAD_WINDOW, Fault.NO_DATA} for r in flagged)
    assert readings[-1].valid, "measuring resumes once the chip answers again"
