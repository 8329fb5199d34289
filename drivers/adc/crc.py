"""CRC-16-CCITT (polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR).

The ADS131M0x protects every SPI frame with it (MODE.CRC_TYPE = 0). `crc16_ccitt(b"123456789")`
is 0x29B1, the catalogued check value of CRC-16/CCITT-FALSE.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

POLYNOMIAL = 0x1021
INITIAL = 0xFFFF


def _build_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ POLYNOMIAL) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _build_table()
_TABLE_NP = np.array(_TABLE, dtype=np.uint32)


def crc16_ccitt(data: Iterable[int], crc: int = INITIAL) -> int:
    """The CRC of `data` (bytes or ints 0..255)."""
    table = _TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


def crc16_ccitt_rows(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """The CRC of every row of a (frames, bytes) array at once."""
    crc = np.full(rows.shape[0], INITIAL, dtype=np.uint32)
    for column in range(rows.shape[1]):
        index = (crc >> 8) ^ rows[:, column].astype(np.uint32)
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE_NP[index]
    return crc
