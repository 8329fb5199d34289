"""The pty null modem that stands in for the P1 UART in simulation."""

from __future__ import annotations

import os

from drivers.p1.nullmodem import PtyNullModem
from drivers.p1.port import open_port


def test_bytes_pass_both_ways_unchanged() -> None:
    with PtyNullModem() as modem:
        near, far = open_port(modem.near_path), open_port(modem.far_path, timeout_s=2.0)
        payload = bytes(range(256)) * 4 + b"\r\n\n\r"
        near.write(payload)
        assert far.read(len(payload)) == payload
        far.write(b"back\r\n")
        near.timeout = 2.0
        assert near.read(6) == b"back\r\n"
        near.close()
        far.close()


def test_a_burst_arrives_whole_when_the_reader_catches_up() -> None:
    with PtyNullModem() as modem:
        near, far = open_port(modem.near_path), open_port(modem.far_path, timeout_s=2.0)
        burst = os.urandom(40_000)  # ten times a tty's input buffer
        near.write(burst)
        received = far.read(len(burst))
        assert received == burst
        near.close()
        far.close()


def test_without_a_reader_the_sender_never_blocks() -> None:
    with PtyNullModem() as modem:
        near = open_port(modem.near_path)
        telegram = b"/" + b"x" * 800 + b"!ABCD\r\n"
        # 1.2 MB with nobody on the far side: pyserial's write timeout (2 s) would raise here
        # if the modem let the sender block.
        for _ in range(1500):
            assert near.write(telegram) == len(telegram)
        near.flush()
        near.close()
