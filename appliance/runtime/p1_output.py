"""The CSP1+ job: telegrams on the P1 UART (gated by the request line) and on TCP.

Two independent tasks. The serial task decides when to send (`TelegramScheduler`), the codec
builds the bytes, the writer puts them on the UART in a worker thread, checking the request
line between chunks; a UART that cannot be opened or fails is retried with backoff while the
rest of the appliance runs on. The TCP task sends every window's telegram whole to every client,
independent of the request line (that line belongs to the serial consumer).

In simulation a pty null modem stands in for the UART: the far end's path is logged and
published as `ctx.services["p1_output"].tty_path`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from appliance.grid import GridReading
from appliance.p1.schedule import TelegramScheduler, Trigger, fresh_or_failsafe
from appliance.p1.tcp import TelegramTcpServer
from appliance.p1.telegram import build_telegram
from appliance.p1.writer import SerialPort, TelegramWriter, WriterStats
from appliance.runtime.context import RuntimeContext
from appliance.runtime.p1_request import shared_request_line
from appliance.runtime.settings_watch import run_restarting_on_change
from appliance.settings import Settings
from drivers.errors import DriverError
from drivers.p1.nullmodem import PtyNullModem
from drivers.p1.port import open_port
from drivers.p1.request import RequestLine

log = logging.getLogger(__name__)

SERVICE_NAME = "p1_output"
REOPEN_FIRST_S = 1.0
REOPEN_MAX_S = 30.0


@dataclass
class P1OutputStatus:
    """What the P1 output is doing, for screens, the dashboard and tests."""

    serial_device: str = ""
    serial_open: bool = False
    last_error: str = ""
    tty_path: str | None = None  # simulation: where a consumer reads the telegrams
    tcp_port: int | None = None
    writer: WriterStats = field(default_factory=WriterStats)
    last_trigger: Trigger | None = None


def _restart_key(settings: Settings) -> tuple[bool, str, int]:
    return settings.p1.enabled, settings.p1.port, settings.p1.tcp_port


async def run_p1_output(ctx: RuntimeContext) -> None:
    await run_restarting_on_change(ctx, _restart_key, _run_enabled)


async def _run_enabled(ctx: RuntimeContext) -> None:
    settings = ctx.settings.current.p1
    status = P1OutputStatus()
    ctx.services[SERVICE_NAME] = status
    if not settings.enabled:
        log.info("P1 output disabled")
        await asyncio.Event().wait()
    async with contextlib.AsyncExitStack() as stack:
        if ctx.simulate:
            modem = stack.enter_context(PtyNullModem())
            status.serial_device, status.tty_path = modem.near_path, modem.far_path
            log.info("simulation: P1 telegrams readable on %s (115200 8N1)", modem.far_path)
        else:
            status.serial_device = settings.port
        async with asyncio.TaskGroup() as tasks:
            if settings.tcp_port or ctx.simulate:
                host = "127.0.0.1" if ctx.simulate else "0.0.0.0"  # noqa: S104 - a LAN service
                tcp = TelegramTcpServer(host, settings.tcp_port)
                status.tcp_port = await tcp.start()
                stack.push_async_callback(tcp.close)
                tasks.create_task(_serve_tcp(ctx, tcp))
            tasks.create_task(_serve_serial(ctx, status))


def _telegram(ctx: RuntimeContext, reading: GridReading, now: float) -> bytes:
    settings = ctx.settings.current
    to_send = fresh_or_failsafe(reading, now, settings.metering.stale_after_s)
    return build_telegram(to_send, ctx.identity.device_number, settings.p1.profile)


async def _serve_tcp(ctx: RuntimeContext, tcp: TelegramTcpServer) -> None:
    while True:
        reading = await ctx.hub.readings.next()
        tcp.broadcast(_telegram(ctx, reading, ctx.clock.monotonic()))


async def _serve_serial(ctx: RuntimeContext, status: P1OutputStatus) -> None:
    request = shared_request_line(ctx)
    delay = REOPEN_FIRST_S
    while True:
        try:
            port = await asyncio.to_thread(open_port, status.serial_device)
        except DriverError as exc:
            status.last_error = str(exc)
        else:
            status.serial_open, status.last_error = True, ""
            delay = REOPEN_FIRST_S
            try:
                await _send_loop(ctx, status, port, request)
            except OSError as exc:  # pyserial's SerialException is an OSError
                status.last_error = f"P1 UART {status.serial_device} failed: {exc}"
            finally:
                status.serial_open = False
                with contextlib.suppress(OSError):
                    port.close()
        log.error("%s; retrying in %.0f s", status.last_error, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, REOPEN_MAX_S)


async def _send_loop(
    ctx: RuntimeContext, status: P1OutputStatus, port: SerialPort, request: RequestLine
) -> None:
    scheduler = TelegramScheduler(send_without_request=ctx.settings.current.p1.send_without_request)
    writer = TelegramWriter(
        port, may_continue=lambda: scheduler.send_without_request or request.is_high()
    )
    status.writer = writer.stats
    events: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def on_edge(level: bool) -> None:
        loop.call_soon_threadsafe(events.put_nowait, ("request", level))

    async def forward_windows() -> None:
        while True:
            await ctx.hub.readings.next()
            events.put_nowait(("window", True))

    async def follow_settings() -> None:
        async for settings in ctx.settings.changes.updates():
            scheduler.send_without_request = settings.p1.send_without_request

    request.add_listener(on_edge)
    if scheduler.on_start(request.is_high(), ctx.clock.monotonic()):
        events.put_nowait(("start", True))
    # Plain tasks, not a TaskGroup: a failing UART must reach the caller as the OSError it is.
    helpers = [asyncio.create_task(forward_windows()), asyncio.create_task(follow_settings())]
    try:
        while True:
            deadline = scheduler.deadline()
            timeout = None if deadline is None else deadline - ctx.clock.monotonic()
            try:
                kind, level = await asyncio.wait_for(events.get(), timeout)
            except TimeoutError:
                kind, level = "timer", False
            now = ctx.clock.monotonic()
            trigger: Trigger | None
            if kind == "start":
                trigger = Trigger.REQUEST_EDGE
            elif kind == "window":
                trigger = scheduler.on_window(now)
            elif kind == "request":
                trigger = scheduler.on_request(level, now)
            else:
                trigger = scheduler.on_timer(now)
            latest = ctx.hub.readings.latest
            if trigger is None or latest is None:
                continue
            status.last_trigger = trigger
            await asyncio.to_thread(writer.send, _telegram(ctx, latest, now))
    finally:
        request.remove_listener(on_edge)
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
