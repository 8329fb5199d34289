"""Modbus RTU over a socat pty pair, read by minimalmodbus and mbpoll."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import minimalmodbus
import pytest
import serial

from tests.modbus.clients import MbpollError, crc16, mbpoll, mbpoll_words
from tests.modbus.conftest import LoopThread, Served, SocatCable, start_rtu, stop
from tests.modbus.expected import (
    EM340_INT16,
    EM340_INT32,
    EMU_COUNT,
    EMU_FIRST,
    SDM630_BLOCKS,
    SDM630_FLOATS,
    emu_words,
    sdm630_words,
)

BAUD = 38400


def instrument(path: str, unit: int = 1, timeout: float = 1.0) -> minimalmodbus.Instrument:
    device = minimalmodbus.Instrument(path, unit, close_port_after_each_call=False)
    device.serial.baudrate = BAUD
    device.serial.timeout = timeout
    device.clear_buffers_before_each_transaction = True
    return device


@pytest.fixture
def emu_rtu(loop_thread: LoopThread, socat_cable: SocatCable) -> Iterator[Served]:
    served = start_rtu(loop_thread, socat_cable, baudrate=BAUD)
    yield served
    stop(loop_thread, served)


def test_minimalmodbus_reads_the_emu_window(emu_rtu: Served) -> None:
    device = instrument(emu_rtu.client_path)
    try:
        for function_code in (3, 4):
            words = device.read_registers(EMU_FIRST, EMU_COUNT, functioncode=function_code)
            assert words == emu_words()
        current = device.read_long(4591, functioncode=4, byteorder=minimalmodbus.BYTEORDER_BIG)
        assert current == 70123
    finally:
        device.serial.close()


def test_mbpoll_reads_the_emu_window_over_rtu(emu_rtu: Served) -> None:
    words = mbpoll_words(
        "-m", "rtu", "-b", str(BAUD), "-P", "none", "-a", "1", "-r", str(EMU_FIRST),
        "-c", str(EMU_COUNT), "-t", "4:hex", emu_rtu.client_path,
    )  # fmt: skip
    assert words == emu_words()


def test_silent_for_other_unit_addresses(emu_rtu: Served) -> None:
    device = instrument(emu_rtu.client_path, unit=2, timeout=0.15)
    try:
        with pytest.raises(minimalmodbus.NoResponseError):
            device.read_registers(4591, 2, functioncode=3)
        with pytest.raises(minimalmodbus.NoResponseError):
            device.write_register(4591, 1)  # not even an exception for a foreign write
        device.address = 1
        device.serial.timeout = 1.0
        assert device.read_registers(4591, 2, functioncode=3) == [1, 4587]
    finally:
        device.serial.close()
    records = emu_rtu.endpoint.log.records()
    assert [r.result for r in records[-3:]] == ["silent: not unit 1"] * 2 + ["ok"]
    with pytest.raises(MbpollError, match="timed out"):
        mbpoll(
            "-m", "rtu", "-b", str(BAUD), "-P", "none", "-a", "3", "-r", "4591",
            "-t", "4", emu_rtu.client_path,
        )  # fmt: skip


def test_exceptions_over_rtu(emu_rtu: Served) -> None:
    # minimalmodbus waits its whole timeout for the longer normal answer before it reads an
    # exception, so a short timeout keeps this test quick.
    device = instrument(emu_rtu.client_path, timeout=0.3)
    try:
        with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal data address"):
            device.read_registers(EMU_FIRST - 1, 2, functioncode=3)
        with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal function"):
            device.write_register(4591, 1)
        with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal function"):
            device.read_bits(4591, 8, functioncode=1)
        with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal function"):
            device._perform_command(8, b"\x00\x00\x12\x34")  # diagnostics: echo
    finally:
        device.serial.close()


def test_sdm630_over_rtu(loop_thread: LoopThread, socat_cable: SocatCable) -> None:
    served = start_rtu(loop_thread, socat_cable, "eastron_sdm630", unit=7, baudrate=BAUD)
    device = instrument(served.client_path, unit=7)
    try:
        for first, count in SDM630_BLOCKS:
            assert device.read_registers(first, count, functioncode=4) == sdm630_words(first, count)
        for address, value in SDM630_FLOATS.items():
            assert device.read_float(address, functioncode=4) == pytest.approx(value, rel=1e-6)
    finally:
        device.serial.close()
        stop(loop_thread, served)


def test_hand_built_frame_and_crc(emu_rtu: Served) -> None:
    """The response bytes, checked against our own reading of the RTU spec."""
    with serial.Serial(emu_rtu.client_path, BAUD, timeout=2.0) as line:
        request = bytes([1, 3]) + struct.pack(">HH", 4567, 3)
        line.write(request + crc16(request))
        response = line.read(5 + 6)
    body = bytes([1, 3, 6]) + struct.pack(">HHH", 2312, 2290, 2304)
    assert response == body + crc16(body)


def test_bad_count_gets_exception_03_and_foreign_units_nothing(emu_rtu: Served) -> None:
    with serial.Serial(emu_rtu.client_path, BAUD) as line:
        for unit, answer in ((1, bytes([1, 0x83, 3])), (2, b"")):
            line.timeout = 2.0 if answer else 0.2  # read() returns once 5 bytes are in
            request = bytes([unit, 3]) + struct.pack(">HH", EMU_FIRST, 0)
            line.write(request + crc16(request))
            expected = answer + crc16(answer) if answer else b""
            assert line.read(5) == expected


def test_em340_over_rtu(loop_thread: LoopThread, socat_cable: SocatCable) -> None:
    served = start_rtu(loop_thread, socat_cable, "carlo_gavazzi_em340", baudrate=BAUD)
    device = instrument(served.client_path)
    try:
        for address, value in EM340_INT32.items():  # low word first = CDAB
            assert value == device.read_long(
                address, functioncode=3, signed=True, byteorder=minimalmodbus.BYTEORDER_LITTLE_SWAP
            )
        for address, value in EM340_INT16.items():
            assert device.read_register(address, functioncode=4, signed=True) == value
    finally:
        device.serial.close()
        stop(loop_thread, served)
