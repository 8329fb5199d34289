"""What every ADC driver delivers: blocks of raw samples with a timestamp for each one.

The metering engine turns a block into pin voltages with `volts_per_code`, corrects the skew
between channels with `times_s`, and flags clipping from `code_min`/`code_max`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Samples of several channels over one stretch of time.

    Row k of `codes` and `times_s` belongs to `roles[k]` ("voltage", "ct1", "ct2", "ct3").
    Codes are signed integers relative to the converter's zero: an MCP3208 reports 0..4095
    (the HAT biases the inputs at mid-rail, so the engine removes the DC); an ADS131M0x reports
    two's complement -2^23..2^23-1 around ground.
    """

    roles: tuple[str, ...]
    codes: npt.NDArray[np.int32]  # shape (len(roles), n)
    times_s: npt.NDArray[np.float64]  # shape (len(roles), n), monotonic seconds of each sample
    volts_per_code: float  # pin volts per code step (after the chip's gain)
    code_min: int  # the lowest code the chip can output (clipping detection)
    code_max: int  # the highest code the chip can output
    crc_errors: int = 0  # frames rejected by the CRC check in this block
    missed_frames: int = 0  # conversions lost (ADS: DRDY came again before the frame was read)

    @property
    def sample_count(self) -> int:
        return int(self.codes.shape[1])


class AdcDriver(Protocol):
    """An opened, configured ADC. `read_block` blocks until `duration_s` of samples are in."""

    @property
    def roles(self) -> tuple[str, ...]: ...

    @property
    def nominal_rate_hz(self) -> float:
        """Samples per second per channel."""
        ...

    def read_block(self, duration_s: float) -> SampleBlock: ...

    def close(self) -> None: ...
