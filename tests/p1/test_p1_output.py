"""`run_p1_output` on the simulated HAT: request line on a MockFactory pin, UART on a pty,
TCP clients, every telegram checked by dsmr_parser."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import tty
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from appliance.grid import FAILSAFE_CURRENT_A, GridReading
from appliance.p1.reader import TelegramFramer
from appliance.runtime.context import RuntimeContext
from appliance.runtime.p1_output import P1OutputStatus, run_p1_output
from appliance.settings import Settings
from tests.p1.conftest import make_context
from tests.p1.helpers import phase, reading

PARSER = TelegramParser(telegram_specifications.V5)


def current_reading(ctx: RuntimeContext, amperes: float) -> GridReading:
    now = ctx.clock.monotonic()
    return replace(
        reading(phase(amperes, amperes * 230), phase(0, 0), phase(0, 0)),
        monotonic_s=now,
        wall_time_s=ctx.clock.time(),
    )


class FarEnd:
    """The charger's side of the simulated UART, framing telegrams as they arrive.

    Opened with os.open, not pyserial: pyserial flushes the input on open, and the tests want
    every byte the sender wrote, including those written before this side was opened.
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        self.framer = TelegramFramer()

    def _read(self, timeout_s: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout_s)
        return os.read(self.fd, 4096) if ready else b""

    async def telegrams(self, within_s: float) -> list[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        out: list[bytes] = []
        while (left := deadline - loop.time()) > 0:
            out += self.framer.feed(await asyncio.to_thread(self._read, min(left, 0.05)))
        return out

    def close(self) -> None:
        os.close(self.fd)


@contextlib.asynccontextmanager
async def running(ctx: RuntimeContext) -> AsyncIterator[tuple[P1OutputStatus, FarEnd]]:
    task = asyncio.create_task(run_p1_output(ctx))
    for _ in range(1000):
        status = ctx.services.get("p1_output")
        if isinstance(status, P1OutputStatus) and status.tcp_port and status.serial_open:
            break
        await asyncio.sleep(0.01)
    assert isinstance(status, P1OutputStatus)
    assert status.tty_path
    far = FarEnd(status.tty_path)
    try:
        yield status, far
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        far.close()


def currents(telegrams: list[bytes]) -> list[float]:
    return [float(PARSER.parse(t.decode()).INSTANTANEOUS_CURRENT_L1.value) for t in telegrams]


async def test_request_edge_starts_at_once_then_one_per_window(ctx: RuntimeContext) -> None:
    ctx.hub.readings.publish(current_reading(ctx, 3.0))
    async with running(ctx) as (_status, far):
        # Request is already high when the port opens: that counts as an edge.
        assert currents(await far.telegrams(0.6)) == [3.0]
        pin = ctx.pin_factory.pin(ctx.pinmap.p1_request)
        assert ctx.services["p1_request"].is_high()  # simulation holds request high
        pin.drive_low()
        ctx.hub.readings.publish(current_reading(ctx, 4.0))
        assert await far.telegrams(0.3) == []  # no request, no telegram
        pin.drive_high()
        assert currents(await far.telegrams(0.6)) == [4.0]  # at once, without a new window
        for amps in (5.0, 6.0, 7.0):
            ctx.hub.readings.publish(current_reading(ctx, amps))
            assert currents(await far.telegrams(0.6)) == [amps]  # one per window


async def test_send_without_request(ctx: RuntimeContext) -> None:
    async with running(ctx) as (_status, far):
        ctx.pin_factory.pin(ctx.pinmap.p1_request).drive_low()
        assert await far.telegrams(0.3) == []  # no reading yet, request low
        settings = ctx.settings.current
        ctx.settings.update(
            settings.with_section(
                "p1", settings.p1.model_copy(update={"send_without_request": True})
            )
        )
        await asyncio.sleep(0.05)
        ctx.hub.readings.publish(current_reading(ctx, 8.5))
        assert currents(await far.telegrams(0.6)) == [8.5]


async def test_stale_data_sends_the_failsafe_on_its_own_clock(ctx: RuntimeContext) -> None:
    old = replace(current_reading(ctx, 2.0), monotonic_s=ctx.clock.monotonic() - 60)
    ctx.hub.readings.publish(old)
    async with running(ctx) as (_status, far):
        # Request is high from the start: a telegram at once, then the own clock 1.25 s
        # later (no windows arrive): both the fail-safe (99 A).
        assert currents(await far.telegrams(2.0)) == [FAILSAFE_CURRENT_A, FAILSAFE_CURRENT_A]


async def test_tcp_clients_get_every_window_and_an_idle_one_blocks_nobody(
    ctx: RuntimeContext,
) -> None:
    async with running(ctx) as (status, _far):
        assert status.tcp_port
        good_reader, good_writer = await asyncio.open_connection("127.0.0.1", status.tcp_port)
        # A client that never reads must not delay the one that does.
        _idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", status.tcp_port)
        await asyncio.sleep(0.05)
        framer = TelegramFramer()
        received: list[bytes] = []
        for n in range(40):
            ctx.hub.readings.publish(current_reading(ctx, float(n)))
            await asyncio.sleep(0.01)  # windows come one at a time
        while len(received) < 40:
            data = await asyncio.wait_for(good_reader.read(65536), 5.0)
            assert data, "the server dropped a client that reads"
            received += framer.feed(data)
        assert currents(received) == [float(n) for n in range(40)]
        good_writer.close()
        idle_writer.close()


@pytest.mark.parametrize("clients", [3])
async def test_tcp_stream_is_independent_of_the_request_line(
    ctx: RuntimeContext, clients: int
) -> None:
    async with running(ctx) as (status, far):
        ctx.pin_factory.pin(ctx.pinmap.p1_request).drive_low()
        assert status.tcp_port
        streams = [
            await asyncio.open_connection("127.0.0.1", status.tcp_port) for _ in range(clients)
        ]
        await asyncio.sleep(0.05)
        ctx.hub.readings.publish(current_reading(ctx, 12.5))
        for reader, writer in streams:
            telegrams = TelegramFramer().feed(
                await asyncio.wait_for(reader.readuntil(b"!"), 5.0) + await reader.readline()
            )
            assert currents(telegrams) == [12.5]
            writer.close()
        assert await far.telegrams(0.1) == []  # the UART stays silent without request


async def wait_for(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    for _ in range(int(within_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_a_failing_uart_is_reported_and_retried(state_dir: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    base = Settings()
    settings = base.with_section("p1", base.p1.model_copy(update={"port": os.ttyname(slave)}))
    ctx = make_context(state_dir, settings)
    ctx.simulate = False  # the device path: the UART named in the settings, TCP off
    task = asyncio.create_task(run_p1_output(ctx))
    try:
        await wait_for(lambda: getattr(ctx.services.get("p1_output"), "serial_open", False))
        status = ctx.services["p1_output"]
        assert isinstance(status, P1OutputStatus)
        ctx.pin_factory.pin(ctx.pinmap.p1_request).drive_high()
        ctx.hub.readings.publish(current_reading(ctx, 9.0))
        received = b""
        while not received.endswith(b"\r\n") or b"!" not in received:
            ready, _, _ = await asyncio.to_thread(select.select, [master], [], [], 5.0)
            assert ready, "no telegram on the UART"
            received += os.read(master, 4096)
        # The request edge and the window may both send: every telegram carries 9 A.
        assert set(currents(TelegramFramer().feed(received))) == {9.0}
        os.close(master)  # the UART goes away under the writer
        os.close(slave)
        ctx.hub.readings.publish(current_reading(ctx, 10.0))
        await wait_for(lambda: not status.serial_open and bool(status.last_error))
        assert not task.done()  # retrying, not crashed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ctx.pin_factory.close()


async def test_a_missing_uart_is_reported(state_dir: Path) -> None:
    base = Settings()
    settings = base.with_section("p1", base.p1.model_copy(update={"port": "/dev/no-such-p1-uart"}))
    ctx = make_context(state_dir, settings)
    ctx.simulate = False
    task = asyncio.create_task(run_p1_output(ctx))
    try:
        await wait_for(lambda: bool(getattr(ctx.services.get("p1_output"), "last_error", "")))
        assert (
            "cannot open serial port /dev/no-such-p1-uart" in ctx.services["p1_output"].last_error
        )
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ctx.pin_factory.close()
