"""What a fake ADC chip measures: the primary quantities at the HAT's inputs over time.

The grid simulator implements `PrimarySignals`; the fake chips turn its volts and amps into pin
voltages through their analog front-end model, then into the chip's real SPI answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

# Rows of `PrimarySignals.primary`: the L1 voltage reference, then the three CT primaries.
SIGNAL_ROLES = ("voltage", "ct1", "ct2", "ct3")


@dataclass(frozen=True, slots=True)
class InputFaults:
    """Faults of the inputs and the ADC link at one moment."""

    ct_unplugged: tuple[bool, bool, bool] = (False, False, False)
    miso_bit_error_rate: float = 0.0  # probability that any one MISO bit is flipped
    chip_dead: bool = False  # the chip answers nothing (all ones / all zeros on MISO)
    drop_drdy: bool = False  # ADS: the host misses DRDY edges (frames are lost)


class PrimarySignals(Protocol):
    def primary(self, times_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Instantaneous values at `times_s`, shape (4, n): L1 volts, then CT1..CT3 primary amps.

        Currents are positive in the import direction (from the grid into the house).
        """
        ...

    def faults(self, time_s: float) -> InputFaults:
        """Input and link faults in force at `time_s`."""
        ...
