"""Modbus TCP, read by clients we did not write: mbpoll and uModbus."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import replace

import pytest
from umodbus import exceptions as umodbus_errors
from umodbus.client import tcp as umodbus_tcp

from appliance.grid import ReportedPhase
from tests.modbus.clients import MbpollError, mbpoll, mbpoll_words, raw_tcp
from tests.modbus.conftest import LoopThread, Served, start_tcp, stop
from tests.modbus.expected import (
    EMU_COUNT,
    EMU_FIRST,
    SDM630_BLOCKS,
    SDM630_FLOATS,
    em340_words,
    emu_words,
    sdm630_words,
)


@pytest.fixture(scope="module")
def emu(loop_thread: LoopThread) -> Iterator[Served]:
    served = start_tcp(loop_thread)
    yield served
    stop(loop_thread, served)


@pytest.fixture(scope="module")
def sdm(loop_thread: LoopThread) -> Iterator[Served]:
    served = start_tcp(loop_thread, "eastron_sdm630")
    yield served
    stop(loop_thread, served)


def _umodbus(port: int, message: bytes) -> list[int]:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        return list(umodbus_tcp.send_message(message, sock))


@pytest.mark.parametrize("table", ["3", "4"])  # mbpoll: 3 = input (FC04), 4 = holding (FC03)
def test_mbpoll_reads_the_emu_window_in_one_request(emu: Served, table: str) -> None:
    words = mbpoll_words(
        "-m", "tcp", "-p", str(emu.port), "-r", str(EMU_FIRST), "-c", str(EMU_COUNT),
        "-t", f"{table}:hex", "127.0.0.1",
    )  # fmt: skip
    assert words == emu_words()
    record = emu.endpoint.log.records()[-1]
    assert (record.address, record.count, record.result) == (EMU_FIRST, EMU_COUNT, "ok")
    assert record.function_code == (4 if table == "3" else 3)


def test_mbpoll_reads_currents_as_big_endian_int32(emu: Served) -> None:
    values = mbpoll(
        "-m", "tcp", "-p", str(emu.port), "-r", "4591", "-c", "3", "-t", "3:int", "-B",
        "127.0.0.1",
    )  # fmt: skip
    assert values == {4591: "70123", 4593: "3000", 4595: "250"}


def test_mbpoll_reads_every_sdm630_float(sdm: Served) -> None:
    values = mbpoll(
        "-m", "tcp", "-p", str(sdm.port), "-r", "0", "-c", "40", "-t", "3:float", "-B",
        "127.0.0.1",
    )  # fmt: skip
    for address in range(0, 0x50, 2):
        assert float(values[address]) == pytest.approx(
            SDM630_FLOATS.get(address, 0.0), rel=1e-5, abs=1e-6
        )


def test_umodbus_reads_every_register_of_both_maps(emu: Served, sdm: Served) -> None:
    for function in (umodbus_tcp.read_holding_registers, umodbus_tcp.read_input_registers):
        message = function(slave_id=1, starting_address=EMU_FIRST, quantity=EMU_COUNT)
        assert _umodbus(emu.port, message) == emu_words()
    for first, count in SDM630_BLOCKS:
        message = umodbus_tcp.read_input_registers(1, first, count)
        assert _umodbus(sdm.port, message) == sdm630_words(first, count)
    for first in range(0, 0x50 - 12, 2):  # chargers that read 12 registers at once
        message = umodbus_tcp.read_input_registers(1, first, 12)
        assert _umodbus(sdm.port, message) == sdm630_words(first, 12)


@pytest.mark.parametrize("unit", [0, 1, 2, 247, 255])
def test_any_unit_id_is_answered(emu: Served, unit: int) -> None:
    message = umodbus_tcp.read_holding_registers(unit, 4591, 2)
    assert _umodbus(emu.port, message) == [1, 70123 & 0xFFFF]


def test_exception_02_outside_the_map(emu: Served, sdm: Served) -> None:
    for first, count in ((EMU_FIRST - 1, 1), (EMU_FIRST + EMU_COUNT - 1, 2), (0, 1)):
        with pytest.raises(umodbus_errors.IllegalDataAddressError):
            _umodbus(emu.port, umodbus_tcp.read_holding_registers(1, first, count))
    with pytest.raises(umodbus_errors.IllegalDataAddressError):
        _umodbus(sdm.port, umodbus_tcp.read_input_registers(1, 0x4E, 4))
    with pytest.raises(MbpollError, match="Illegal data address"):
        mbpoll("-m", "tcp", "-p", str(emu.port), "-r", "4500", "-t", "4", "127.0.0.1")
    assert emu.endpoint.log.records()[-1].result == "exception 02"


def test_exception_01_for_writes(emu: Served) -> None:
    writes = [
        umodbus_tcp.write_single_register(1, 4591, 5),
        umodbus_tcp.write_multiple_registers(1, 4591, [1, 2]),
        umodbus_tcp.write_single_coil(1, 4591, 1),
        umodbus_tcp.write_multiple_coils(1, 4591, [1, 0]),
        umodbus_tcp.write_single_register(1, 0, 5),  # outside the map too
    ]
    for message in writes:
        with pytest.raises(umodbus_errors.IllegalFunctionError):
            _umodbus(emu.port, message)
    assert _umodbus(emu.port, umodbus_tcp.read_holding_registers(1, 4591, 2)) == [1, 4587]


def test_exception_01_for_functions_a_meter_does_not_serve(emu: Served, sdm: Served) -> None:
    requests = [
        b"\x01" + struct.pack(">HH", EMU_FIRST, 8),  # read coils (would read register bits)
        b"\x02" + struct.pack(">HH", 0, 8),  # read discrete inputs
        b"\x07",  # read exception status
        b"\x08\x00\x00\x12\x34",  # diagnostics: return query data
        b"\x11",  # report server id
        b"\x2b\x0e\x01\x00",  # read device identification
        b"\x17" + struct.pack(">HHHHB", EMU_FIRST, 1, EMU_FIRST, 1, 2) + b"\x00\x01",
        b"\x41\x00",  # no such function
    ]
    for pdu in requests:
        assert raw_tcp(emu.port, pdu) == bytes([pdu[0] | 0x80, 0x01]), pdu.hex()
    # the SDM630 keeps its values in input registers: FC03 is not served
    assert raw_tcp(sdm.port, b"\x03\x00\x00\x00\x02") == b"\x83\x01"


def test_offset_minus_one_moves_the_map_down(loop_thread: LoopThread) -> None:
    served = start_tcp(loop_thread, offset=-1)
    try:
        words = mbpoll_words(
            "-m", "tcp", "-p", str(served.port), "-r", str(EMU_FIRST - 1), "-c", str(EMU_COUNT),
            "-t", "4:hex", "127.0.0.1",
        )  # fmt: skip
        assert words == emu_words()
        message = umodbus_tcp.read_holding_registers(1, 4590, 2)  # current L1, 1-based
        assert _umodbus(served.port, message) == [1, 4587]
        with pytest.raises(umodbus_errors.IllegalDataAddressError):
            _umodbus(served.port, umodbus_tcp.read_holding_registers(1, 4598, 1))
        # a charger that counts from 0 reads one above the values: the log says so
        _umodbus(served.port, umodbus_tcp.read_holding_registers(1, 4591, 2))
        assert "set address offset 0" in served.endpoint.log.records()[-1].hint
    finally:
        stop(loop_thread, served)


def test_values_follow_the_newest_report(emu: Served) -> None:
    original = emu.grid[0]
    assert original is not None
    emu.grid[0] = replace(
        original, phases=(ReportedPhase(12.0, 230.0, 2760.0), *original.phases[1:])
    )
    try:
        assert _umodbus(emu.port, umodbus_tcp.read_input_registers(1, 4591, 2)) == [0, 12000]
        emu.grid[0] = None  # nothing published yet: the startup overload
        assert _umodbus(emu.port, umodbus_tcp.read_input_registers(1, 4591, 2)) == [
            1,
            100000 - 65536,
        ]
    finally:
        emu.grid[0] = original


@pytest.mark.parametrize("count", [0, 126, 2000])
def test_exception_03_for_a_bad_register_count(emu: Served, count: int) -> None:
    pdu = b"\x03" + struct.pack(">HH", EMU_FIRST, count)
    assert raw_tcp(emu.port, pdu) == b"\x83\x03"
    record = emu.endpoint.log.records()[-1]
    assert (record.address, record.count, record.result) == (EMU_FIRST, count, "exception 03")


def test_umodbus_reads_the_em340_map(loop_thread: LoopThread) -> None:
    served = start_tcp(loop_thread, "carlo_gavazzi_em340")
    try:
        assert _umodbus(served.port, umodbus_tcp.read_holding_registers(1, 0, 0x50)) == (
            em340_words()
        )
        assert (
            _umodbus(served.port, umodbus_tcp.read_input_registers(1, 0x0C, 6))
            == (em340_words()[0x0C:0x12])
        )
    finally:
        stop(loop_thread, served)
