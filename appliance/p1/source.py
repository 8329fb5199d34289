"""Where P1 input comes from: a serial port (the HAT's UART RX, a USB P1 cable) or a P1 network
dongle at `tcp://host:port`. Thin I/O: each source yields raw byte chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import serial_asyncio_fast

from appliance.errors import ConfigurationError
from drivers.errors import BusError
from drivers.p1.port import LINE_DSMR22, line_for_baudrate

READ_BYTES = 1024


@dataclass(frozen=True, slots=True)
class P1Source:
    """A parsed source: `tcp://host:port` or a serial device path."""

    text: str
    host: str | None = None
    port: int | None = None
    device: str | None = None
    baudrate: int = 115200

    @property
    def requires_crc(self) -> bool:
        """DSMR 2.2/3 meters (9600 7E1) send no CRC; everything from DSMR 4 on does."""
        return self.device is None or self.baudrate != LINE_DSMR22.baudrate

    def __str__(self) -> str:
        return self.text


def parse_source(text: str, baudrate: int = 115200) -> P1Source:
    if text.startswith("tcp://"):
        parts = urlsplit(text)
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise ConfigurationError(f"P1 source {text!r}: expected tcp://host:port")
        return P1Source(text, host=parts.hostname, port=port)
    if not text.startswith("/"):
        raise ConfigurationError(f"P1 source {text!r}: a device path or tcp://host:port")
    return P1Source(text, device=text, baudrate=baudrate)


async def open_source(source: P1Source) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect; an unreachable host or a missing port becomes a `BusError`."""
    try:
        if source.device is not None:
            line = line_for_baudrate(source.baudrate)
            return await serial_asyncio_fast.open_serial_connection(
                url=source.device,
                baudrate=line.baudrate,
                bytesize=line.bytesize,
                parity=line.parity,
                stopbits=line.stopbits,
            )
        return await asyncio.open_connection(source.host, source.port)
    except (OSError, ValueError) as exc:
        raise BusError(f"cannot open P1 source {source}: {exc}") from exc


async def read_chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Raw chunks until the source closes (TCP) or fails."""
    while True:
        try:
            data = await reader.read(READ_BYTES)
        except OSError as exc:
            raise BusError(f"P1 source read failed: {exc}") from exc
        if not data:
            return
        yield data
