"""Blocking P1 input for command-line tools (`scc measure --p1`): readings as a generator.

The appliance itself reads P1 in its asyncio loop (`appliance.runtime.p1_input`); this is the
same decoder and the same stale rule over a plain pyserial port or socket.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Generator

from appliance.clock import Clock
from appliance.errors import MeasurementError
from appliance.grid import GridReading
from appliance.p1.reader import P1Decoder, StaleMonitor
from appliance.p1.source import READ_BYTES, P1Source
from drivers.errors import BusError
from drivers.p1.port import line_for_baudrate, open_port

POLL_S = 0.25


def _open(source: P1Source) -> tuple[Callable[[], bytes], Callable[[], None]]:
    """A read function (returns b"" on a quiet poll) and a close function."""
    if source.device is not None:
        port = open_port(source.device, line_for_baudrate(source.baudrate), timeout_s=POLL_S)
        return (lambda: bytes(port.read(READ_BYTES))), port.close
    try:
        conn = socket.create_connection((source.host, source.port), timeout=5.0)
    except OSError as exc:
        raise BusError(f"cannot connect to P1 source {source}: {exc}") from exc
    conn.settimeout(POLL_S)

    def read() -> bytes:
        try:
            data = conn.recv(READ_BYTES)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise BusError(f"P1 source {source}: {exc}") from exc
        if not data:
            raise BusError(f"P1 source {source} closed the connection")
        return data

    return read, conn.close


def p1_readings(
    source: P1Source, clock: Clock, stale_after_s: float, phase_count: int = 3
) -> Generator[GridReading, None, None]:
    """Readings from the source; a NO_DATA reading each second while nothing valid arrives.

    A source that cannot be opened or fails raises `MeasurementError` (a clear message).
    """
    decoder = P1Decoder(require_crc=source.requires_crc)
    monitor = StaleMonitor(stale_after_s, phase_count, started_s=clock.monotonic())
    try:
        read, close = _open(source)
    except BusError as exc:
        raise MeasurementError(str(exc)) from exc
    try:
        while True:
            try:
                data = read()
            except BusError as exc:
                raise MeasurementError(str(exc)) from exc
            now = clock.monotonic()
            for reading in decoder.feed(data, now, clock.time()):
                monitor.valid_received(now, decoder.stats.rejected_total)
                yield reading
            fault = monitor.check(now, clock.time(), decoder.stats.rejected_total)
            if fault is not None:
                yield fault
    finally:
        close()
