"""The register tables on their own: values, reads across values, exceptions, the docs."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.errors import ConfigurationError
from appliance.grid import ReportedGrid, ReportedPhase
from appliance.modbus.docs import maps_markdown
from appliance.modbus.log import addressing_hint
from appliance.modbus.maps import (
    IllegalFunctionError,
    ModbusAddressError,
    ModbusValueError,
    available_maps,
    register_map,
)
from appliance.modbus.registers import STARTUP_OVERLOAD_CURRENT_A, RegisterType, WordOrder
from tests.modbus.conftest import FIXED_GRID
from tests.modbus.expected import (
    EMU_COUNT,
    EMU_FIRST,
    SDM630_BLOCKS,
    em340_words,
    emu_words,
    sdm630_words,
)

REPO = Path(__file__).resolve().parents[2]
EMU = register_map("emu_professional")
SDM = register_map("eastron_sdm630")
EM340 = register_map("carlo_gavazzi_em340")


def test_available_maps_have_names_and_titles() -> None:
    names = [m.name for m in available_maps()]
    assert names[0] == "emu_professional"  # the manual's only meter comes first
    assert "eastron_sdm630" in names
    assert all(m.title for m in available_maps())
    with pytest.raises(ConfigurationError, match="unknown meter"):
        register_map("nope")


@pytest.mark.parametrize("function_code", [3, 4])
def test_emu_window_in_one_read(function_code: int) -> None:
    assert EMU.blocks() == ((EMU_FIRST, EMU_COUNT),)
    assert EMU.read_registers(function_code, EMU_FIRST, EMU_COUNT, FIXED_GRID) == emu_words()


def test_every_emu_register_alone_and_split() -> None:
    words = emu_words()
    for address in range(EMU_FIRST, EMU_FIRST + EMU_COUNT):
        # any single word, even the low half of a 32-bit value
        assert EMU.read_registers(3, address, 1, FIXED_GRID) == [words[address - EMU_FIRST]]


def test_sdm630_blocks_and_every_register() -> None:
    assert SDM.blocks() == SDM630_BLOCKS
    for first, count in SDM630_BLOCKS:
        assert SDM.read_registers(4, first, count, FIXED_GRID) == sdm630_words(first, count)
    for address in range(0, 0x50, 2):  # twelve-at-a-time readers anywhere in the block
        count = min(12, 0x50 - address)
        assert SDM.read_registers(4, address, count, FIXED_GRID) == sdm630_words(address, count)


def test_em340_low_word_first() -> None:
    assert EM340.blocks() == ((0, 0x50),)
    for function_code in (3, 4):
        assert EM340.read_registers(function_code, 0, 0x50, FIXED_GRID) == em340_words()


def test_exceptions() -> None:
    with pytest.raises(ModbusAddressError):
        EMU.read_registers(3, EMU_FIRST - 1, 2, FIXED_GRID)
    with pytest.raises(ModbusAddressError):
        EMU.read_registers(3, EMU_FIRST + EMU_COUNT - 1, 2, FIXED_GRID)
    with pytest.raises(IllegalFunctionError):
        EMU.read_registers(1, EMU_FIRST, 1, FIXED_GRID)
    with pytest.raises(IllegalFunctionError):
        SDM.read_registers(3, 0, 2, FIXED_GRID)  # the SDM630's values are input registers
    with pytest.raises(ModbusValueError):
        EMU.read_registers(3, EMU_FIRST, 0, FIXED_GRID)
    with pytest.raises(ModbusAddressError):
        SDM.read_registers(4, 0x4E, 4, FIXED_GRID)  # runs past the gap-free block
    assert IllegalFunctionError.exception_code == 1
    assert ModbusAddressError.exception_code == 2


def test_startup_reports_an_overloaded_grid() -> None:
    words = EMU.read_registers(3, 4591, 6, None)
    milliamps = [(words[i] << 16) | words[i + 1] for i in (0, 2, 4)]
    assert milliamps == [round(STARTUP_OVERLOAD_CURRENT_A * 1000)] * 3
    volts = EMU.read_registers(4, 4567, 3, None)
    assert volts == [2300, 2300, 2300]
    current_l1 = struct.unpack(">f", struct.pack(">HH", *SDM.read_registers(4, 6, 2, None)))[0]
    assert current_l1 == STARTUP_OVERLOAD_CURRENT_A


def test_failsafe_grid_is_reported_as_the_controller_made_it() -> None:
    failsafe = replace(FIXED_GRID, failsafe=True)
    assert EMU.read_registers(3, EMU_FIRST, EMU_COUNT, failsafe) == emu_words()


def test_integers_clamp_instead_of_wrapping() -> None:
    odd = ReportedGrid(
        monotonic_s=0.0,
        wall_time_s=0.0,
        phases=(
            ReportedPhase(current_a=-1.0, voltage_v=7000.0, power_w=0.0),  # impossible values
            ReportedPhase(current_a=math.nan, voltage_v=230.0, power_w=0.0),
            ReportedPhase(current_a=5e6, voltage_v=230.0, power_w=0.0),
        ),
    )
    words = EMU.read_registers(3, 4567, 1, odd) + EMU.read_registers(3, 4591, 6, odd)
    assert words == [0xFFFF, 0, 0, 0, 0, 0xFFFF, 0xFFFF]


def test_low_word_first_order() -> None:
    register = EMU.register_at(4591)
    assert register is not None
    assert register.type is RegisterType.UINT32
    assert register.encode(FIXED_GRID, WordOrder.LOW_FIRST) == [70123 & 0xFFFF, 1]


@given(
    currents=st.tuples(*[st.floats(0, 80, allow_nan=False)] * 3),
    volts=st.tuples(*[st.floats(180, 260, allow_nan=False)] * 3),
)
def test_emu_totals_are_the_sum_of_the_phases(
    currents: tuple[float, float, float], volts: tuple[float, float, float]
) -> None:
    grid = ReportedGrid(
        monotonic_s=0.0,
        wall_time_s=0.0,
        phases=tuple(  # type: ignore[arg-type]
            ReportedPhase(current_a=i, voltage_v=v, power_w=i * v)
            for i, v in zip(currents, volts, strict=True)
        ),
    )
    words = EMU.read_registers(3, 4537, 8, grid)
    values = [(words[i] << 16) | words[i + 1] for i in range(0, 8, 2)]
    assert values[3] == sum(values[:3])
    for value, i, v in zip(values[:3], currents, volts, strict=True):
        assert abs(value - i * v) <= 0.5 + 1e-9


def test_hint_points_out_one_based_chargers() -> None:
    assert "set address offset -1" in addressing_hint(EMU, 0, 3, 4590, 2)
    assert addressing_hint(EMU, 0, 3, 4591, 2) == ""
    assert "set address offset 0" in addressing_hint(EMU, -1, 3, 4591, 2)
    assert addressing_hint(EMU, -1, 3, 4590, 2) == ""


def test_committed_docs_match_the_tables() -> None:
    committed = (REPO / "docs" / "modbus-maps.md").read_text(encoding="utf-8")
    assert committed == maps_markdown(), "run: scc modbus-maps --markdown > docs/modbus-maps.md"


def test_cli_prints_the_docs() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from appliance.cli import main; raise SystemExit(main())",
            "modbus-maps",
            "--markdown",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert result.stdout == maps_markdown()
