"""The building blocks of a register map: typed registers, word order, encoding, reads.

A map is data: each register says where it lives, how it is encoded, and which value of the
`ReportedGrid` it carries. The server, the docs and the tests all read the same table. Nothing
here does I/O; the pymodbus adapter lives in `appliance.modbus.server`.
"""

from __future__ import annotations

import enum
import itertools
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.errors import IllegalFunctionError, ModbusAddressError, ModbusValueError
from appliance.grid import (
    FAILSAFE_CURRENT_A,
    NOMINAL_FREQUENCY_HZ,
    NOMINAL_VOLTAGE_V,
    ReportedGrid,
    ReportedPhase,
)

READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
MAX_READ_COUNT = 125  # Modbus application protocol: at most 125 registers per read

# Reported while nothing has been published yet (startup): an overloaded grid on every phase,
# like the controller's fail-safe, so any charger pauses instead of falling back to its own
# default current. Above the highest charge limit the settings allow (80 A).
STARTUP_OVERLOAD_CURRENT_A = FAILSAFE_CURRENT_A

ValueSource = Callable[[ReportedGrid], float]


class RegisterType(enum.Enum):
    """Encoding of one value; `words` is its width in 16-bit registers."""

    UINT16 = ("uint16", 1)
    INT16 = ("int16", 1)
    UINT32 = ("uint32", 2)
    INT32 = ("int32", 2)
    FLOAT32 = ("float32", 2)

    def __init__(self, label: str, words: int) -> None:
        self.label = label
        self.words = words


class WordOrder(enum.StrEnum):
    """Order of the two 16-bit words of a 32-bit value (bytes within a word are big-endian)."""

    HIGH_FIRST = "high word first"
    LOW_FIRST = "low word first"


_INT_RANGES = {
    RegisterType.UINT16: (0, 0xFFFF),
    RegisterType.INT16: (-0x8000, 0x7FFF),
    RegisterType.UINT32: (0, 0xFFFF_FFFF),
    RegisterType.INT32: (-0x8000_0000, 0x7FFF_FFFF),
}


@dataclass(frozen=True, slots=True)
class Register:
    """One value in the map. `source` None means N.A.: the words exist and read 0.

    The raw register value is `round(source(grid) * scale)` for integer types (clamped to the
    type's range, so an unsigned current never wraps) and `source(grid) * scale` for float32.
    """

    address: int  # protocol (0-based) address of the first word
    name: str
    type: RegisterType
    unit: str = "-"  # unit of one raw step, as the meter's documentation writes it
    scale: float = 1.0
    source: ValueSource | None = field(default=None, compare=False)
    description: str = ""
    length: int = 0  # N.A. blocks: words covered; 0 = the type's width

    @property
    def words(self) -> int:
        return self.length or self.type.words

    @property
    def end(self) -> int:
        """First address after this register."""
        return self.address + self.words

    def encode(self, grid: ReportedGrid, order: WordOrder) -> list[int]:
        """The register's words for `grid`, in wire order."""
        if self.source is None:
            return [0] * self.words
        value = self.source(grid) * self.scale
        if self.type is RegisterType.FLOAT32:
            raw = struct.unpack(">I", struct.pack(">f", value if math.isfinite(value) else 0.0))
            return _split32(raw[0], order)
        low, high = _INT_RANGES[self.type]
        number = min(max(round(value), low), high) if math.isfinite(value) else 0
        if self.type.words == 1:
            return [number & 0xFFFF]
        return _split32(number & 0xFFFF_FFFF, order)


def _split32(raw: int, order: WordOrder) -> list[int]:
    high, low = raw >> 16, raw & 0xFFFF
    return [high, low] if order is WordOrder.HIGH_FIRST else [low, high]


def not_available(address: int, words: int) -> Register:
    """Words the real meter has but we do not fill (or the manual marks N.A.): they read 0."""
    return Register(address, "N.A.", RegisterType.UINT16, length=words)


@dataclass(frozen=True)
class RegisterMap:
    """The registers of one emulated meter, sorted and without overlaps."""

    name: str  # settings value (`settings.meter.emulate`)
    title: str  # what the settings page's drop-down shows
    function_codes: frozenset[int]
    word_order: WordOrder
    registers: tuple[Register, ...]
    notes: str = ""
    _starts: dict[int, Register] = field(init=False, repr=False, compare=False)
    _word_owner: dict[int, Register] = field(init=False, repr=False, compare=False)
    _blocks: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.registers, key=lambda r: r.address))
        for before, after in itertools.pairwise(ordered):
            if after.address < before.end:
                raise ValueError(f"{self.name}: {after.name} overlaps {before.name}")
        if not ordered:
            raise ValueError(f"{self.name}: a map needs registers")
        object.__setattr__(self, "registers", ordered)
        starts = {r.address: r for r in ordered}
        word_owner: dict[int, Register] = {}
        for register in ordered:
            for address in range(register.address, register.end):
                word_owner[address] = register
        object.__setattr__(self, "_blocks", self._gap_free_blocks())
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_word_owner", word_owner)

    def blocks(self) -> tuple[tuple[int, int], ...]:
        """Gap-free address ranges as (first address, word count)."""
        return self._blocks

    def _gap_free_blocks(self) -> tuple[tuple[int, int], ...]:
        out: list[tuple[int, int]] = []
        for register in self.registers:
            if out and out[-1][0] + out[-1][1] == register.address:
                out[-1] = (out[-1][0], out[-1][1] + register.words)
            else:
                out.append((register.address, register.words))
        return tuple(out)

    def covers(self, address: int, count: int) -> bool:
        """True when every word of address..address+count-1 belongs to a register."""
        return any(
            start <= address and address + count <= start + words for start, words in self.blocks()
        )

    def register_at(self, address: int) -> Register | None:
        """The register whose first word is at `address`, if any."""
        return self._starts.get(address)

    def check_request(self, function_code: int, address: int, count: int) -> None:
        """Raise the Modbus exception a meter answers to this read, or return if it is fine."""
        if function_code not in self.function_codes:
            raise IllegalFunctionError(f"{self.title} does not serve function {function_code}")
        if not 1 <= count <= MAX_READ_COUNT:
            raise ModbusValueError(f"register count {count} outside 1..{MAX_READ_COUNT}")
        if not self.covers(address, count):
            raise ModbusAddressError(
                f"{self.title} has no register in {address}..{address + count - 1}"
            )

    def read_registers(
        self, function_code: int, address: int, count: int, reported: ReportedGrid | None
    ) -> list[int]:
        """The words a meter answers to a read of `count` registers from `address`.

        Reads may start or end inside a 32-bit value (the charger gets those words). With
        `reported` None (nothing published yet) the startup overload is reported.
        """
        self.check_request(function_code, address, count)
        grid = reported if reported is not None else startup_overload()
        owner = self._word_owner
        words: list[int] = []
        position = address
        end = address + count
        while position < end:
            register = owner[position]
            encoded = register.encode(grid, self.word_order)
            words.extend(encoded[position - register.address : end - register.address])
            position = register.end
        return words


def startup_overload(monotonic_s: float = 0.0, wall_time_s: float = 0.0) -> ReportedGrid:
    """An overloaded grid on every phase at nominal voltage: what a charger sees at startup."""
    phase = ReportedPhase(
        current_a=STARTUP_OVERLOAD_CURRENT_A,
        voltage_v=NOMINAL_VOLTAGE_V,
        power_w=STARTUP_OVERLOAD_CURRENT_A * NOMINAL_VOLTAGE_V,
    )
    return ReportedGrid(
        monotonic_s=monotonic_s,
        wall_time_s=wall_time_s,
        phases=(phase, phase, phase),
        frequency_hz=NOMINAL_FREQUENCY_HZ,
        failsafe=True,
    )
