"""Grid measurement from a smart meter's P1 port (grid metering device = P1).

Publishes one `GridReading` per valid telegram on `ctx.hub.readings`, with the monotonic time
of receipt as its age. When no valid telegram arrived for `metering.stale_after_s` (cable
pulled, dongle gone, only rejected telegrams), it publishes a reading flagged `Fault.NO_DATA`
(plus `BAD_TELEGRAM` when telegrams did arrive but were rejected) once per second, so the
controller's fail-safe engages; it reconnects with backoff meanwhile. While the metering
device is "ct" this part stays idle (the CT acquisition publishes then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from appliance.errors import ApplianceError, ConfigurationError
from appliance.p1.reader import InputStats, P1Decoder, StaleMonitor
from appliance.p1.source import P1Source, open_source, parse_source, read_chunks
from appliance.runtime.context import RuntimeContext
from appliance.runtime.settings_watch import run_restarting_on_change
from appliance.settings import Settings
from drivers.errors import DriverError

log = logging.getLogger(__name__)

SERVICE_NAME = "p1_input"
RECONNECT_FIRST_S = 1.0
RECONNECT_MAX_S = 10.0


@dataclass
class P1InputStatus:
    source: str = ""
    connected: bool = False
    stats: InputStats = field(default_factory=InputStats)
    last_error: str = ""


def _restart_key(settings: Settings) -> tuple[str, str, int, float, int]:
    return (
        settings.grid.metering_device,
        settings.metering.p1_source,
        settings.metering.p1_baudrate,
        settings.metering.stale_after_s,
        settings.grid.phases,
    )


async def run_p1_input(ctx: RuntimeContext) -> None:
    await run_restarting_on_change(ctx, _restart_key, _run_selected)


async def _run_selected(ctx: RuntimeContext) -> None:
    settings = ctx.settings.current
    if settings.grid.metering_device != "p1":
        await asyncio.Event().wait()  # idle until the metering device changes
    monitor = StaleMonitor(
        stale_after_s=settings.metering.stale_after_s,
        phase_count=settings.grid.phases,
        started_s=ctx.clock.monotonic(),
    )
    status = P1InputStatus(source=settings.metering.p1_source)
    ctx.services[SERVICE_NAME] = status
    try:
        source = parse_source(settings.metering.p1_source, settings.metering.p1_baudrate)
    except ConfigurationError as exc:
        # A setting that names no usable source: the fail-safe, until the setting changes.
        status.last_error = str(exc)
        log.error("P1 input: %s", exc)
        await _watch_stale(ctx, monitor, P1Decoder())
        return
    decoder = P1Decoder(require_crc=source.requires_crc, stats=status.stats)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(_watch_stale(ctx, monitor, decoder))
        await _read_forever(ctx, source, decoder, monitor, status)


async def _watch_stale(ctx: RuntimeContext, monitor: StaleMonitor, decoder: P1Decoder) -> None:
    while True:
        now = ctx.clock.monotonic()
        fault = monitor.check(now, ctx.clock.time(), decoder.stats.rejected_total)
        if fault is not None:
            log.warning("no valid P1 telegram for %.0f s: fail-safe", monitor.stale_after_s)
            ctx.hub.readings.publish(fault)
        await asyncio.sleep(max(monitor.due(ctx.clock.monotonic()) - ctx.clock.monotonic(), 0.0))


async def _read_forever(
    ctx: RuntimeContext,
    source: P1Source,
    decoder: P1Decoder,
    monitor: StaleMonitor,
    status: P1InputStatus,
) -> None:
    delay = RECONNECT_FIRST_S
    while True:
        accepted_before = decoder.stats.accepted
        try:
            await _read_once(ctx, source, decoder, monitor, status)
            status.last_error = "source closed the connection"
        except (DriverError, ApplianceError) as exc:
            status.last_error = str(exc)
        status.connected = False
        if decoder.stats.accepted > accepted_before:
            delay = RECONNECT_FIRST_S  # the link worked: a fresh failure starts the backoff over
        log.warning("P1 input %s: %s; retrying in %.0f s", source, status.last_error, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_S)


async def _read_once(
    ctx: RuntimeContext,
    source: P1Source,
    decoder: P1Decoder,
    monitor: StaleMonitor,
    status: P1InputStatus,
) -> None:
    reader, writer = await open_source(source)
    status.connected = True
    log.info("P1 input connected: %s", source)
    try:
        async for chunk in read_chunks(reader):
            now = ctx.clock.monotonic()
            for reading in decoder.feed(chunk, now, ctx.clock.time()):
                monitor.valid_received(now, decoder.stats.rejected_total)
                ctx.hub.readings.publish(reading)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()
