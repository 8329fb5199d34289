"""Thin wrappers around the independent clients: mbpoll (a C program) and raw sockets."""

from __future__ import annotations

import re
import socket
import struct
import subprocess

_VALUE_LINE = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.MULTILINE)


class MbpollError(Exception):
    """mbpoll reported a failed read; the message names the Modbus exception."""


def mbpoll(*args: str) -> dict[int, str]:
    """One poll with 0-based addresses; returns {address: printed value}."""
    result = subprocess.run(
        ["mbpoll", "-1", "-0", "-o", "1", *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    values = {int(a): v for a, v in _VALUE_LINE.findall(result.stdout)}
    if result.returncode != 0 or not values:
        raise MbpollError((result.stdout + result.stderr).strip())
    return values


def mbpoll_words(*args: str) -> list[int]:
    """16-bit registers read by mbpoll (`:hex` output), in address order."""
    values = mbpoll(*args)
    return [int(values[a], 16) for a in sorted(values)]


def raw_tcp(port: int, pdu: bytes, unit: int = 1, tid: int = 7, timeout: float = 2.0) -> bytes:
    """Send one Modbus TCP request with a hand-built MBAP header; return the response PDU."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
        header = recv_exactly(sock, 7)
        got_tid, protocol, length, got_unit = struct.unpack(">HHHB", header)
        assert (got_tid, protocol, got_unit) == (tid, 0, unit)
        return recv_exactly(sock, length - 1)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def crc16(frame: bytes) -> bytes:
    """Modbus RTU CRC (poly 0xA001, init 0xFFFF), low byte first."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)
