"""What a meter must answer for `FIXED_GRID`, written out by hand from the manuals' tables.

Independent of the map code: these are the numbers an installer would compute with a
calculator from the fixed grid (see conftest.FIXED_GRID).
"""

from __future__ import annotations

import struct

EMU_FIRST = 4521
EMU_COUNT = 78


def emu_words() -> list[int]:
    """The 78 words of 4521..4598 for FIXED_GRID."""
    words = [0] * EMU_COUNT
    values_32 = {
        4537: 16212,  # 70.123 A x 231.2 V = 16212.4 VA
        4539: 687,  # 3.0 A x 229.0 V
        4541: 58,  # 0.25 A x 230.4 V = 57.6 VA
        4543: 16212 + 687 + 58,
        4591: 70123,  # mA
        4593: 3000,
        4595: 250,
        4597: 70123 + 3000 + 250,  # total current, mA (the manual's last register)
    }
    for address, value in values_32.items():
        words[address - EMU_FIRST] = value >> 16
        words[address - EMU_FIRST + 1] = value & 0xFFFF
    for address, value in {4567: 2312, 4568: 2290, 4569: 2304}.items():  # 0.1 V
        words[address - EMU_FIRST] = value
    return words


_S1, _S2, _S3 = 70.123 * 231.2, 3.0 * 229.0, 0.25 * 230.4
_P = 15800.0 - 500.0 + 20.0
_I = 70.123 + 3.0 + 0.25

SDM630_FLOATS = {
    0x00: 231.2,
    0x02: 229.0,
    0x04: 230.4,
    0x06: 70.123,
    0x08: 3.0,
    0x0A: 0.25,
    0x0C: 15800.0,
    0x0E: -500.0,
    0x10: 20.0,
    0x12: _S1,
    0x14: _S2,
    0x16: _S3,
    0x1E: 15800.0 / _S1,
    0x20: -500.0 / _S2,
    0x22: 20.0 / _S3,
    0x2A: (231.2 + 229.0 + 230.4) / 3,
    0x2E: _I / 3,
    0x30: _I,
    0x34: _P,
    0x38: _S1 + _S2 + _S3,
    0x3E: _P / (_S1 + _S2 + _S3),
    0x46: 49.98,
    0x48: 1234.5,
    0x4A: 67.24,
    0x156: 1234.5 + 67.24,
}
SDM630_BLOCKS = ((0x00, 0x50), (0x156, 4))


def float_words(value: float, high_first: bool = True) -> list[int]:
    raw = struct.unpack(">I", struct.pack(">f", value))[0]
    words = [raw >> 16, raw & 0xFFFF]
    return words if high_first else words[::-1]


def sdm630_words(first: int, count: int) -> list[int]:
    """Words first..first+count-1 of the SDM630 map (N.A. floats are 0.0 = two zero words)."""
    table: dict[int, int] = {}
    for address, value in SDM630_FLOATS.items():
        high, low = float_words(value)
        table[address], table[address + 1] = high, low
    return [table.get(a, 0) for a in range(first, first + count)]


# Carlo Gavazzi EM340: signed integers, 32-bit values low word first.
EM340_INT32 = {
    0x00: 2312,  # 231.2 V in 0.1 V
    0x02: 2290,
    0x04: 2304,
    0x0C: 70123,  # mA
    0x0E: 3000,
    0x10: 250,
    0x12: 158000,  # 15800 W in 0.1 W
    0x14: -5000,
    0x16: 200,
    0x18: 162124,  # 16212.4376 VA in 0.1 VA
    0x1A: 6870,
    0x1C: 576,
    0x24: 2302,  # mean of 231.2, 229.0, 230.4 V
    0x28: 153200,  # 15320 W
    0x2A: 169570,  # 16957.04 VA
    0x34: 12345,  # 1234.5 kWh in 0.1 kWh
    0x4E: 672,  # 67.24 kWh
}
EM340_INT16 = {
    0x2E: 975,  # PF 15800 / 16212.4 = 0.9746
    0x2F: -728,  # -500 / 687
    0x30: 347,  # 20 / 57.6
    0x31: 903,  # 15320 / 16957.0
    0x33: 500,  # 49.98 Hz in 0.1 Hz
}


def em340_words() -> list[int]:
    """Words 0x0000..0x004F of the EM340 map for FIXED_GRID."""
    words = [0] * 0x50
    for address, value in EM340_INT32.items():
        raw = value & 0xFFFF_FFFF
        words[address], words[address + 1] = raw & 0xFFFF, raw >> 16  # low word first
    for address, value in EM340_INT16.items():
        words[address] = value & 0xFFFF
    return words
