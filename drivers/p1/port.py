"""Serial ports of the P1 interface, opened through pyserial with the DSMR line settings."""

from __future__ import annotations

from dataclasses import dataclass

import serial

from drivers.errors import BusError


@dataclass(frozen=True, slots=True)
class LineSettings:
    baudrate: int
    bytesize: int
    parity: str
    stopbits: float


# DSMR 4/5 and the CSP1+ (manual 3.10.1): 115200 8N1. DSMR 2.2/3 meters: 9600 7E1.
LINE_DSMR5 = LineSettings(115200, serial.EIGHTBITS, serial.PARITY_NONE, serial.STOPBITS_ONE)
LINE_DSMR22 = LineSettings(9600, serial.SEVENBITS, serial.PARITY_EVEN, serial.STOPBITS_ONE)


def line_for_baudrate(baudrate: int) -> LineSettings:
    return LINE_DSMR22 if baudrate == LINE_DSMR22.baudrate else LINE_DSMR5


def open_port(
    device: str, line: LineSettings = LINE_DSMR5, timeout_s: float | None = 0.5
) -> serial.Serial:
    """Open `device` with the given line settings; an OSError becomes a `BusError`."""
    try:
        return serial.Serial(
            device,
            baudrate=line.baudrate,
            bytesize=line.bytesize,
            parity=line.parity,
            stopbits=line.stopbits,
            timeout=timeout_s,
            write_timeout=2.0,
        )
    except (serial.SerialException, OSError) as exc:
        raise BusError(f"cannot open serial port {device}: {exc}") from exc
