"""MCP3208 (12-bit, 8-channel SAR ADC) over SPI: batched conversions with a time for each one.

Every conversion is one chip-select cycle of 3 bytes (datasheet section 6.1, "Using the
MCP3204/3208 with microcontroller SPI ports"):

    MOSI  0000 01 SGL D2 | D1 D0 xx xxxx | xxxx xxxx     (start bit in bit 2 of the first byte)
    MISO  ???? ???? ???? | ???0 B11..B8  | B7 ..... B0   (null bit, then the result MSB first)

The input is sampled until the falling clock edge after D0, 11 bit times after chip select
falls. Chip select must rise between conversions, so one bus message carries up to 127 scans of
the channel sequence as separate transfers (`FrameBus`, `drivers/spi.py`); the chip converts
them one after another at the SPI clock, and each sample gets its own instant by spreading the
message's measured duration over its frames (docs/adc.md has the rates this reaches). A reader
thread (`ContinuousReader`) keeps messages going back to back while the caller works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from drivers.adc.base import SampleBlock
from drivers.adc.continuous import Chunk, ContinuousReader
from drivers.errors import ChipNotFoundError
from drivers.spi import FrameBus

CHANNELS = 8
FRAME_LEN = 3
CODE_MAX = 4095
# Bit times from chip select falling to the end of the sample period, for the aligned frame.
SAMPLE_END_BITS = 11
DEFAULT_CHANNELS: Mapping[str, int] = {"voltage": 0, "ct1": 1, "ct2": 2, "ct3": 3}


def command_bytes(channel: int, *, single_ended: bool = True) -> bytes:
    """The 3 MOSI bytes that convert `channel` (0..7); differential pairs are CH(2k) vs CH(2k+1)."""
    if not 0 <= channel < CHANNELS:
        raise ValueError(f"MCP3208 channel {channel} out of 0..7")
    return bytes((0x04 | (int(single_ended) << 1) | (channel >> 2), (channel & 0x03) << 6, 0x00))


def decode_codes(miso: bytes) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """Codes of consecutive 3-byte answers, and whether each answer's null bit was low."""
    frames = np.frombuffer(miso, dtype=np.uint8).reshape(-1, FRAME_LEN).astype(np.int32)
    codes = ((frames[:, 1] & 0x0F) << 8) | frames[:, 2]
    null_ok = (frames[:, 1] & 0x10) == 0
    return codes, null_ok


class Mcp3208:
    """An `AdcDriver` for the MCP3208 board: the voltage and every CT, sampled in turn."""

    def __init__(
        self,
        bus: FrameBus,
        clock: Callable[[], float],
        *,
        channels: Mapping[str, int] = DEFAULT_CHANNELS,
        vref_v: float = 3.3,
    ) -> None:
        if not channels:
            raise ValueError("the MCP3208 needs at least one channel role")
        if len(set(channels.values())) != len(channels):
            raise ValueError(f"two roles share one MCP3208 channel: {dict(channels)}")
        self._bus = bus
        self._clock = clock
        self._roles = tuple(channels)
        self._vref_v = vref_v
        scan = b"".join(command_bytes(channels[role]) for role in self._roles)
        self._scans_per_message = bus.max_frames(FRAME_LEN) // len(self._roles)
        if self._scans_per_message < 1:
            raise ValueError("the bus cannot carry one scan of the channel sequence")
        self._message = scan * self._scans_per_message
        self._scan_rate_hz = 0.0
        self._check_chip()
        self._reader = ContinuousReader(self._read_chunk, len(self._roles), name="mcp3208")

    @property
    def roles(self) -> tuple[str, ...]:
        return self._roles

    @property
    def nominal_rate_hz(self) -> float:
        """Scans per second, measured over the first message after opening."""
        return self._scan_rate_hz

    @property
    def volts_per_code(self) -> float:
        return self._vref_v / (CODE_MAX + 1)

    def _check_chip(self) -> None:
        """A first message: an absent chip leaves MISO stuck, which no real input can produce."""
        codes, times, null_ok = self._transfer()
        stuck = bool(np.all((codes == 0) | (codes == CODE_MAX)))
        if stuck or not bool(np.all(null_ok)):
            raise ChipNotFoundError("MCP3208 does not answer: MISO stuck or null bit missing")
        span = times[0, -1] - times[0, 0]
        self._scan_rate_hz = (codes.shape[1] - 1) / span if span > 0 else 0.0

    def _transfer(
        self,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """One bus message: codes and sample instants, shape (roles, scans), and null bits."""
        start = self._clock()
        miso = self._bus.xfer_frames(self._message, FRAME_LEN)
        end = self._clock()
        codes, null_ok = decode_codes(miso)
        frames = len(codes)
        # The kernel's setup happens before the first clock edge and the return is short, so
        # the frames are anchored at the end of the call and spread evenly over its duration.
        period = (end - start) / frames
        frame_index = np.arange(frames, dtype=np.float64)
        times = end - (frames - frame_index - SAMPLE_END_BITS / (8 * FRAME_LEN)) * period
        shape = (self._scans_per_message, len(self._roles))
        return codes.reshape(shape).T.copy(), times.reshape(shape).T.copy(), null_ok

    def _read_chunk(self) -> Chunk:
        codes, times, _ = self._transfer()
        scan_period = (times[0, -1] - times[0, 0]) / max(codes.shape[1] - 1, 1)
        return Chunk(codes, times, float(times[0, 0]), float(times[0, -1] + scan_period))

    def read_block(self, duration_s: float) -> SampleBlock:
        """Samples from the end of the previous block until `duration_s` later, gap-free."""
        block = self._reader.read_block(duration_s)
        return SampleBlock(
            roles=self._roles,
            codes=block.codes,
            times_s=block.times_s,
            volts_per_code=self.volts_per_code,
            code_min=0,
            code_max=CODE_MAX,
        )

    def close(self) -> None:
        self._reader.close()
        self._bus.close()
