"""`run_p1_input`: smart-meter telegrams over a pty and over TCP become readings on the hub;
silence and garbage end in NO_DATA readings (the controller's fail-safe)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from appliance.clock import FakeClock
from appliance.grid import Fault, GridReading
from appliance.p1.reader import Rejection, StaleMonitor
from appliance.p1.telegram import build_telegram
from appliance.runtime.context import RuntimeContext
from appliance.runtime.p1_input import P1InputStatus, run_p1_input
from appliance.settings import Settings
from drivers.p1.nullmodem import PtyNullModem
from drivers.p1.port import open_port
from tests.p1.conftest import make_context
from tests.p1.helpers import DEVICE, belgian_fluvius, dutch_dsmr5, phase, reading

FLAVOURS: dict[str, tuple[bytes, list[float]]] = {
    "dutch dsmr5": (dutch_dsmr5((5, 3, 0), (1.155, 0.0, 0.0), (0.0, 0.696, 0.0)), [5.0, -3.0, 0.0]),
    "belgian fluvius": (
        belgian_fluvius((7.31, 2.05, 0.0), (0.0, 0.47, 0.0), (1.70, 0.0, 0.0)),
        [-7.31, 2.05, 0.0],
    ),
    "csp1": (
        build_telegram(reading(phase(16.0, 3680.0), phase(4.0, -920.0), phase(0, 0)), DEVICE),
        [16.0, -4.0, 0.0],
    ),
}


def p1_settings(source: str, stale_after_s: float = 10) -> Settings:
    base = Settings()
    return base.model_validate(
        base.model_dump()
        | {"grid": base.grid.model_dump() | {"metering_device": "p1"}}
        | {
            "metering": base.metering.model_dump()
            | {"p1_source": source, "stale_after_s": stale_after_s}
        }
    )


@contextlib.asynccontextmanager
async def p1_input(ctx: RuntimeContext) -> AsyncIterator[None]:
    task = asyncio.create_task(run_p1_input(ctx))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_reading(ctx: RuntimeContext, within_s: float = 3.0) -> GridReading:
    return await asyncio.wait_for(ctx.hub.readings.next(), within_s)


def signed(r: GridReading) -> list[float]:
    return [round(p.signed_current_a, 2) for p in r.phases]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_over_a_pty(flavour: str, state_dir: Path) -> None:
    telegram, expected = FLAVOURS[flavour]
    with PtyNullModem() as modem:
        ctx = make_context(state_dir, p1_settings(modem.near_path))
        meter = open_port(modem.far_path)
        async with p1_input(ctx):
            waiter = asyncio.create_task(next_reading(ctx))
            while not waiter.done():  # until the reader has opened its side
                meter.write(telegram)
                await asyncio.wait({waiter}, timeout=0.1)
            r = waiter.result()
        meter.close()
        ctx.pin_factory.close()
    assert signed(r) == expected
    assert r.valid
    assert abs(r.age_s(ctx.clock.monotonic())) < 5


@contextlib.asynccontextmanager
async def dongle(send: Callable[[asyncio.StreamWriter], None]) -> AsyncIterator[int]:
    """A P1 network dongle: sends to each client what `send` writes."""

    async def serve(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        send(writer)
        await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_over_tcp(flavour: str, state_dir: Path) -> None:
    telegram, expected = FLAVOURS[flavour]
    async with dongle(lambda w: w.write(b"\x00garbage" + telegram)) as port:
        ctx = make_context(state_dir, p1_settings(f"tcp://127.0.0.1:{port}"))
        async with p1_input(ctx):
            r = await next_reading(ctx)
            status = ctx.services["p1_input"]
        ctx.pin_factory.close()
    assert signed(r) == expected
    assert isinstance(status, P1InputStatus)
    assert status.stats.accepted == 1


async def test_silence_and_bad_telegrams_feed_the_failsafe(state_dir: Path) -> None:
    good, _ = FLAVOURS["dutch dsmr5"]
    bad = good[:-6] + b"0000\r\n"
    async with dongle(lambda w: w.write(good + bad * 3)) as port:
        ctx = make_context(state_dir, p1_settings(f"tcp://127.0.0.1:{port}", stale_after_s=2))
        async with p1_input(ctx):
            first = await next_reading(ctx)
            assert first.valid
            stale = await next_reading(ctx, within_s=4.0)
        ctx.pin_factory.close()
    assert Fault.NO_DATA in stale.faults
    assert Fault.BAD_TELEGRAM in stale.faults
    assert not stale.valid
    assert stale.monotonic_s - first.monotonic_s >= 2.0


def test_stale_monitor_publishes_no_data_once_per_second(clock: FakeClock) -> None:
    monitor = StaleMonitor(stale_after_s=10, phase_count=3, started_s=clock.monotonic())
    clock.advance(5)
    monitor.valid_received(clock.monotonic(), rejected_total=0)
    clock.advance(10)
    assert monitor.check(clock.monotonic(), clock.time(), 0) is None  # exactly at the limit
    faults: list[GridReading] = []
    for _ in range(40):  # 4 s in 0.1 s steps
        clock.advance(0.1)
        fault = monitor.check(clock.monotonic(), clock.time(), 0)
        if fault is not None:
            faults.append(fault)
    assert len(faults) == 4
    assert all(f.faults == {Fault.NO_DATA} and not f.valid for f in faults)
    monitor.valid_received(clock.monotonic(), 0)
    assert monitor.check(clock.monotonic(), clock.time(), 0) is None  # recovered


def test_stale_monitor_without_any_telegram(clock: FakeClock) -> None:
    monitor = StaleMonitor(stale_after_s=3, phase_count=1, started_s=clock.monotonic())
    assert monitor.due(clock.monotonic()) == clock.monotonic() + 3
    clock.advance(3.5)
    fault = monitor.check(clock.monotonic(), clock.time(), rejected_total=2)
    assert fault is not None
    assert fault.faults == {Fault.NO_DATA, Fault.BAD_TELEGRAM}
    assert fault.phase_count == 1


async def test_idle_while_metering_device_is_ct(state_dir: Path) -> None:
    ctx = make_context(state_dir)  # factory default: CT
    async with p1_input(ctx):
        with pytest.raises(TimeoutError):
            await next_reading(ctx, within_s=0.3)
        assert "p1_input" not in ctx.services
    ctx.pin_factory.close()


async def test_unusable_source_setting_feeds_the_failsafe(state_dir: Path) -> None:
    ctx = make_context(state_dir, p1_settings("COM3", stale_after_s=2))
    async with p1_input(ctx):
        stale = await next_reading(ctx, within_s=4.0)
        status = ctx.services["p1_input"]
    ctx.pin_factory.close()
    assert stale.faults == {Fault.NO_DATA}
    assert isinstance(status, P1InputStatus)
    assert "tcp://host:port" in status.last_error


async def test_switching_the_metering_device_takes_effect_at_once(state_dir: Path) -> None:
    telegram, expected = FLAVOURS["belgian fluvius"]
    async with dongle(lambda w: w.write(telegram)) as port:
        ctx = make_context(state_dir)
        async with p1_input(ctx):
            p1 = p1_settings(f"tcp://127.0.0.1:{port}")
            ctx.settings.update(p1)
            r = await next_reading(ctx)
        ctx.pin_factory.close()
    assert signed(r) == expected


async def test_bad_input_over_a_pty_is_counted_and_a_good_telegram_still_gets_through(
    state_dir: Path,
) -> None:
    good, expected = FLAVOURS["dutch dsmr5"]
    junk = [
        good[:-6] + b"0000\r\n",  # bad CRC
        good[:-6] + good[-6:-2].lower() + b"\r\n",  # lowercase CRC
        good.replace(b"\r\n", b"\n"),  # LF-only
        good[:300],  # truncated (the next `/` cuts it)
        b"/XMX5XMXCQA0000008879\r\n" + b"1-0:1.8.1(000000.000*kWh)\r\n" * 400,  # no `!`
        random.Random(3).randbytes(5000).replace(b"/", b"?").replace(b"!", b"?"),  # noise
    ]
    with PtyNullModem() as modem:
        ctx = make_context(state_dir, p1_settings(modem.near_path))
        meter = open_port(modem.far_path)
        async with p1_input(ctx):
            status = None
            for _ in range(300):  # until the reader has opened its side
                status = ctx.services.get("p1_input")
                if isinstance(status, P1InputStatus) and status.connected:
                    break
                await asyncio.sleep(0.01)
            waiter = asyncio.create_task(next_reading(ctx, within_s=5.0))
            for chunk in junk:
                meter.write(chunk)
            meter.write(good)
            r = await waiter
        meter.close()
        ctx.pin_factory.close()
    assert signed(r) == expected
    assert isinstance(status, P1InputStatus)
    rejected = status.stats.rejected
    assert rejected[Rejection.BAD_CRC] == 1
    assert rejected[Rejection.MALFORMED_CRC] == 1
    assert rejected[Rejection.LF_ONLY] == 1
    assert rejected[Rejection.TRUNCATED] == 1
    assert rejected[Rejection.TOO_LONG] == 1
    assert status.stats.accepted == 1
