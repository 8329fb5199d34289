"""Garbage on the wire: 10,000 random and malformed frames over TCP and RTU, idle and
half-sent clients. Afterwards valid requests are still answered, and correctly."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections.abc import Iterator

import minimalmodbus
import pytest
from umodbus.client import tcp as umodbus_tcp

from tests.modbus.clients import crc16, recv_exactly
from tests.modbus.conftest import LoopThread, Served, SocatCable, start_rtu, start_tcp, stop
from tests.modbus.expected import EMU_COUNT, EMU_FIRST, emu_words

FRAMES = 10_000
SEED = 20260404


def _random_pdu(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # a read with random address and count (often outside, often 0 or > 125)
        return bytes([rng.choice((3, 4))]) + struct.pack(
            ">HH", rng.randrange(65536), rng.randrange(300)
        )
    if kind == 1:  # a read inside the window, truncated
        return bytes([3]) + struct.pack(">HH", EMU_FIRST, 8)[: rng.randrange(4)]
    if kind == 2:  # any function code with random data
        return bytes([rng.randrange(256)]) + rng.randbytes(rng.randrange(12))
    if kind == 3:  # writes
        return bytes([rng.choice((5, 6, 15, 16))]) + rng.randbytes(rng.randrange(2, 12))
    if kind == 4:  # exception-looking frames from some other master
        return bytes([rng.randrange(0x80, 0x100), rng.randrange(256)])
    return bytes([rng.randrange(256)])  # a function code and nothing else


def _tcp_frame(rng: random.Random) -> tuple[bytes, bool]:
    """A frame, and whether its MBAP header is consistent (else the server drops the stream)."""
    pdu = _random_pdu(rng)
    # One in ten breaks the MBAP header itself. The server closes such a stream (as meters
    # do), so each of those costs a connection; the rest is nonsense inside good headers.
    kind = rng.randrange(30)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 40)), False  # no header at all
    length = len(pdu) + 1
    if kind == 1:
        length = rng.randrange(65536)  # a length field that lies
    protocol = rng.randrange(1, 65536) if kind == 2 else 0
    header = struct.pack(">HHHB", rng.randrange(65536), protocol, length, rng.randrange(256))
    return header + pdu, kind > 2 and bool(pdu)


def _rtu_frame(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 40))
    frame = bytes([rng.choice((0, 1, 2, 17, 247, 255))]) + _random_pdu(rng)
    if kind == 1:
        return frame + rng.randbytes(2)  # bad CRC (almost always)
    return frame + crc16(frame)  # good CRC: well framed, still nonsense for a meter


def _read_block(port: int) -> list[int]:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        message = umodbus_tcp.read_holding_registers(1, EMU_FIRST, EMU_COUNT)
        return list(umodbus_tcp.send_message(message, sock))


@pytest.fixture
def emu_tcp(loop_thread: LoopThread) -> Iterator[Served]:
    served = start_tcp(loop_thread)
    yield served
    stop(loop_thread, served)


def test_tcp_survives_garbage_and_keeps_answering(emu_tcp: Served) -> None:
    rng = random.Random(SEED)
    port = emu_tcp.port
    idle = socket.create_connection(("127.0.0.1", port))  # connects, says nothing
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(struct.pack(">HHHB", 1, 0, 6, 1) + b"\x03\x11")  # stops mid-frame
    good_reads: list[list[int]] = []
    stop_polling = threading.Event()

    def poll() -> None:  # a well-behaved charger polling 20 times a second throughout
        message = umodbus_tcp.read_holding_registers(1, EMU_FIRST, EMU_COUNT)
        with socket.create_connection(("127.0.0.1", port), timeout=2) as charger:
            while not stop_polling.wait(0.05):
                good_reads.append(list(umodbus_tcp.send_message(message, charger)))

    poller = threading.Thread(target=poll)
    poller.start()
    consistent = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as stream:
            for _ in range(FRAMES):
                frame, well_framed = _tcp_frame(rng)
                if well_framed:  # nonsense inside a good header: answered, stream stays up
                    stream.sendall(frame)
                    header = recv_exactly(stream, 7)
                    assert header[:2] == frame[:2], "answer to another transaction"
                    recv_exactly(stream, int.from_bytes(header[4:6], "big") - 1)
                    consistent += 1
                else:  # a broken header ends its stream: one connection each
                    with socket.create_connection(("127.0.0.1", port), timeout=2) as once:
                        once.sendall(frame)
    finally:
        stop_polling.set()
        poller.join(10)
    half.close()  # disconnects mid-frame
    assert good_reads, "the polling client was starved"
    assert all(words == emu_words() for words in good_reads)
    for _ in range(20):
        assert _read_block(port) == emu_words()
    # the idle connection is still served
    idle.settimeout(2)
    message = umodbus_tcp.read_input_registers(1, 4591, 2)
    assert list(umodbus_tcp.send_message(message, idle)) == [1, 4587]
    idle.close()
    # every consistent frame got an answer or a logged refusal
    assert emu_tcp.endpoint.log.total >= consistent + len(good_reads)
    results = {r.result for r in emu_tcp.endpoint.log.records()}
    assert "closed: malformed MBAP header" in results
    assert "exception 01" in results


def test_rtu_survives_garbage_and_keeps_answering(
    loop_thread: LoopThread, socat_cable: SocatCable
) -> None:
    served = start_rtu(loop_thread, socat_cable, baudrate=38400)
    rng = random.Random(SEED)
    device = minimalmodbus.Instrument(socat_cable.client, 1, close_port_after_each_call=False)
    device.serial.baudrate = 38400
    device.serial.timeout = 0.5
    device.clear_buffers_before_each_transaction = True
    rounds = 50
    try:
        for _ in range(rounds):
            for _ in range(FRAMES // rounds):
                device.serial.write(_rtu_frame(rng))
            device.serial.reset_input_buffer()  # drop whatever the server answered
            # The bus goes quiet; the silent interval ends any partial frame. A request that
            # still collides with the tail of the noise is lost, as on a real bus, and the
            # master retries: the next one must be answered.
            time.sleep(0.03)
            assert _read_with_retry(device) == emu_words()
        for _ in range(10):
            assert device.read_registers(4591, 2, functioncode=4) == [1, 4587]
    finally:
        device.serial.close()
        stop(loop_thread, served)
    ok = [r for r in served.endpoint.log.records() if r.result == "ok" and r.unit == 1]
    assert len(ok) >= rounds + 10


def _read_with_retry(device: minimalmodbus.Instrument, attempts: int = 3) -> list[int]:
    for attempt in range(attempts):
        try:
            return list(device.read_registers(EMU_FIRST, EMU_COUNT, functioncode=3))
        except minimalmodbus.NoResponseError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
