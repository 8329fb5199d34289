"""A simulated MCP3208 on the HAT: it decodes the MOSI bits of every chip-select cycle and
answers on MISO exactly as the chip would, from the analog front-end model, in virtual time.

Per chip-select cycle (datasheet section 5 and figure 6-1): MISO is high impedance (read as 0)
until the sample period ends on the falling clock edge after D0; then a null bit, the result
MSB first (B11..B0), then, if the clock keeps running with chip select low, the result again
LSB first (B1..B11) and zeros. So a driver that forgets to release chip select between
conversions gets one conversion and zeros, as on the real part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from drivers.adc.frontend import FrontEnd, mcp3208_front_end
from drivers.adc.mcp3208 import CHANNELS, CODE_MAX
from drivers.adc.signals import SIGNAL_ROLES, InputFaults, PrimarySignals
from drivers.virtual_time import VirtualClock

DEFAULT_WIRING: Mapping[int, str] = {0: "voltage", 1: "ct1", 2: "ct2", 3: "ct3"}
# Linux spidev on a Pi 4: entering the ioctl and setting up the message before the first clock,
# and the kernel's default chip-select delay for `cs_change` (10 µs) plus the spi-bcm2835
# per-transfer set-up (about 1 µs) between conversions.
DEFAULT_MESSAGE_OVERHEAD_S = 25e-6
DEFAULT_CS_GAP_S = 11e-6
MAX_FRAMES = 511


class FakeMcp3208:
    """The chip plus the spidev message timing; implements `FrameBus` and `SpiPort`."""

    def __init__(
        self,
        signals: PrimarySignals,
        rng: np.random.Generator,
        *,
        front_end: FrontEnd | None = None,
        wiring: Mapping[int, str] = DEFAULT_WIRING,
        vref_v: float = 3.3,
        spi_clock_hz: int = 2_000_000,
        message_overhead_s: float = DEFAULT_MESSAGE_OVERHEAD_S,
        cs_gap_s: float = DEFAULT_CS_GAP_S,
        clock: VirtualClock | None = None,
    ) -> None:
        self._signals = signals
        self._rng = rng
        self._front_end = front_end or mcp3208_front_end()
        self._row_of_channel = np.full(CHANNELS, -1, dtype=np.int64)
        for channel, role in wiring.items():
            self._row_of_channel[channel] = SIGNAL_ROLES.index(role)
        self._lsb_v = vref_v / (CODE_MAX + 1)
        self._spi_clock_hz = spi_clock_hz
        self._message_overhead_s = message_overhead_s
        self._cs_gap_s = cs_gap_s
        self.clock = clock or VirtualClock()
        self.messages = 0  # bus messages (ioctls) served
        self.closed = False

    # -- FrameBus / SpiPort ----------------------------------------------------------------
    @property
    def max_speed_hz(self) -> int:
        return self._spi_clock_hz

    def max_frames(self, frame_len: int) -> int:
        return min(MAX_FRAMES, 4096 // frame_len)

    def xfer_frames(self, tx: bytes, frame_len: int) -> bytes:
        frames = np.frombuffer(tx, dtype=np.uint8).reshape(-1, frame_len)
        if not 0 < len(frames) <= self.max_frames(frame_len):
            raise ValueError(f"{len(frames)} frames do not fit one spidev message")
        return self._message(frames).tobytes()

    def xfer2(self, values: Sequence[int]) -> list[int]:
        """One chip-select cycle over all of `values`."""
        frame = np.array([values], dtype=np.uint8)
        return [int(b) for b in self._message(frame)[0]]

    def close(self) -> None:
        self.closed = True

    # -- the chip ------------------------------------------------------------------------------
    def _message(self, frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        count, length = frames.shape
        bit_s = 1.0 / self._spi_clock_hz
        frame_period_s = length * 8 * bit_s + self._cs_gap_s
        begin = self.clock.monotonic() + self._message_overhead_s
        frame_start = begin + np.arange(count) * frame_period_s
        faults = self._signals.faults(begin)
        miso = self._answer(frames, frame_start, bit_s, faults)
        self.clock.advance(self._message_overhead_s + count * frame_period_s)
        self.messages += 1
        return miso

    def _answer(
        self,
        mosi: npt.NDArray[np.uint8],
        frame_start: npt.NDArray[np.float64],
        bit_s: float,
        faults: InputFaults,
    ) -> npt.NDArray[np.uint8]:
        count = mosi.shape[0]
        if faults.chip_dead:
            return np.zeros_like(mosi)
        bits = np.unpackbits(mosi, axis=1)
        nbits = bits.shape[1]
        rows = np.arange(count)
        start = bits.argmax(axis=1)  # the first high bit with chip select low is the start bit
        converts = bits.any(axis=1) & (start + 4 < nbits)

        def bit_at(offset: int) -> npt.NDArray[np.int64]:
            picked: npt.NDArray[np.int64] = bits[rows, np.minimum(start + offset, nbits - 1)]
            return picked.astype(np.int64)

        single_ended = bit_at(1) == 1
        channel = (bit_at(2) << 2) | (bit_at(3) << 1) | bit_at(4)
        sample_time = frame_start + (start + 6) * bit_s
        codes = self._convert(channel, single_ended, sample_time, faults)

        position = np.arange(nbits)[None, :]
        relative = position - (start + 7)[:, None]  # 0 = B11
        msb_first = (relative >= 0) & (relative <= 11)
        lsb_first = (relative >= 12) & (relative <= 22)
        bit_index = np.where(msb_first, 11 - relative, np.where(lsb_first, relative - 11, 0))
        driven = (msb_first | lsb_first) & converts[:, None]
        out_bits = ((codes[:, None] >> bit_index) & 1) * driven
        miso = np.packbits(out_bits.astype(np.uint8), axis=1)
        return self._corrupt(miso, faults.miso_bit_error_rate)

    def _convert(
        self,
        channel: npt.NDArray[np.int64],
        single_ended: npt.NDArray[np.bool_],
        sample_time: npt.NDArray[np.float64],
        faults: InputFaults,
    ) -> npt.NDArray[np.int64]:
        pins = self._front_end.pin_volts(self._signals, sample_time, faults, self._rng)
        # Unwired channels sit on the bias, like the HAT's spare inputs.
        pins = np.vstack([pins, np.full((1, len(sample_time)), self._front_end.bias_v)])
        columns = np.arange(len(sample_time))
        plus = pins[self._row_of_channel[channel], columns]
        minus = np.where(single_ended, 0.0, pins[self._row_of_channel[channel ^ 1], columns])
        codes = np.floor((plus - minus) / self._lsb_v + 0.5)
        return np.clip(codes, 0, CODE_MAX).astype(np.int64)

    def _corrupt(self, miso: npt.NDArray[np.uint8], rate: float) -> npt.NDArray[np.uint8]:
        if rate <= 0:
            return miso
        flips = self._rng.random(miso.size * 8) < rate
        return miso ^ np.packbits(flips).reshape(miso.shape)
