"""The shape of one block of ADC samples, as the engine reads it.

The drivers deliver `drivers.adc.base.SampleBlock`; the engine may not import drivers, so it
states the fields it reads as a protocol, which `SampleBlock` (plain data) satisfies.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

VOLTAGE_ROLE = "voltage"
CURRENT_ROLES = ("ct1", "ct2", "ct3")


class SampleWindow(Protocol):
    @property
    def roles(self) -> tuple[str, ...]: ...

    @property
    def codes(self) -> npt.NDArray[np.int32]: ...

    @property
    def times_s(self) -> npt.NDArray[np.float64]: ...

    @property
    def volts_per_code(self) -> float: ...

    @property
    def code_min(self) -> int: ...

    @property
    def code_max(self) -> int: ...

    @property
    def crc_errors(self) -> int: ...

    @property
    def missed_frames(self) -> int: ...
