"""A simulated ADS131M0x on the HAT: it decodes the command words the driver sends, keeps the
chip's registers, converts on the chip's own frame grid in virtual time, drives DRDY on a
gpiozero mock pin, and answers every frame with the bytes the chip would send, CRC included.

Timing: fMOD = CLKIN / 2 (4.096 MHz from the 8.192 MHz oscillator), one result per channel
every OSR / fMOD seconds. Result k is ready (DRDY low) at t0 + (k + 1) * OSR / fMOD, where t0 is
the last reset or CLOCK write, and is the sinc3 average of the three periods before that
instant, computed by quadrature over the filter's impulse response (a quadratic B-spline).
A frame read delivers the newest result; results nobody read in time are overwritten.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from drivers.adc.ads131m0x import (
    CLKIN_HZ,
    CLOCK_PWR_HIGH_RESOLUTION,
    CODE_MAX,
    CODE_MIN,
    FULL_SCALE_V,
    GAIN_CODES,
    LOCK,
    MODE_RX_CRC_EN,
    NULL,
    OSR_CODES,
    REG_CLOCK,
    REG_GAIN1,
    REG_GAIN2,
    REG_ID,
    REG_MODE,
    REG_STATUS,
    RESET,
    STANDBY,
    STATUS_CRC_ERR,
    UNLOCK,
    WAKEUP,
    WORD_BYTES,
    GpioDataReady,
    channel_config_address,
    command_frame,
    frame_words,
    reset_response,
    wreg_ack,
)
from drivers.adc.crc import crc16_ccitt, crc16_ccitt_rows
from drivers.adc.frontend import FrontEnd, Kernel, ads131m0x_front_end
from drivers.adc.signals import SIGNAL_ROLES, PrimarySignals
from drivers.virtual_time import VirtualClock

DEFAULT_WIRING: Mapping[int, str] = {0: "voltage", 1: "ct1", 2: "ct2", 3: "ct3"}
# A Pi 4 spidev ioctl of one short transfer: system call, message set-up, completion.
DEFAULT_TRANSFER_OVERHEAD_S = 20e-6
MODE_DEFAULT = 0x0510
CFG_DEFAULT = 0x0600
_OSR_OF_CODE = {code: osr for osr, code in OSR_CODES.items()}
_GAIN_OF_CODE = {code: gain for gain, code in GAIN_CODES.items()}
_REGISTER_COUNT = 0x40


def sinc3_kernel(period_s: float, nodes: int = 24) -> Kernel:
    """The sinc3 impulse response over the 3 periods before DRDY, as midpoint quadrature."""
    u = (np.arange(nodes) + 0.5) * 3.0 / nodes  # in periods, 0..3
    spline = np.where(
        u < 1, u**2 / 2, np.where(u < 2, (-2 * u**2 + 6 * u - 3) / 2, (3 - u) ** 2 / 2)
    )
    return -u * period_s, spline / spline.sum()


@dataclass(frozen=True, slots=True)
class _ConvertedChunk:
    data: list[bytes]  # per frame: the channel words
    crc: list[int]  # per frame: the CRC after `status` and the channel words
    status: int


class FakeAds131m0x:
    """The chip behind `SpiPort` (xfer2); DRDY via `attach_drdy_pin` and `SimulatedDataReady`."""

    def __init__(
        self,
        signals: PrimarySignals,
        rng: np.random.Generator,
        *,
        channels: int = 4,
        wiring: Mapping[int, str] = DEFAULT_WIRING,
        front_end: FrontEnd | None = None,
        clkin_hz: float = CLKIN_HZ,
        spi_clock_hz: int = 2_000_000,
        transfer_overhead_s: float = DEFAULT_TRANSFER_OVERHEAD_S,
        chunk_frames: int = 256,
        clock: VirtualClock | None = None,
    ) -> None:
        self._signals = signals
        self._rng = rng
        self._channels = channels
        # Signal row of each chip channel; unwired channels (-1) are grounded inputs.
        self._rows = [
            SIGNAL_ROLES.index(wiring[ch]) if ch in wiring else -1 for ch in range(channels)
        ]
        self._front_end = front_end or ads131m0x_front_end()
        self._f_mod_hz = clkin_hz / 2
        self._spi_clock_hz = spi_clock_hz
        self._overhead_s = transfer_overhead_s
        self._chunk_frames = chunk_frames
        self.clock = clock or VirtualClock()
        self._drdy_pin: Any = None
        self._cache: dict[int, _ConvertedChunk] = {}
        self.frames_served = 0
        self._null_frame = command_frame(NULL, channels=channels)
        self.closed = False
        self._reset()

    # -- SpiPort -------------------------------------------------------------------------
    @property
    def max_speed_hz(self) -> int:
        return self._spi_clock_hz

    def xfer2(self, values: Sequence[int]) -> list[int]:
        tx = bytes(values)
        start = self.clock.monotonic() + self._overhead_s
        faults = self._signals.faults(start)
        if faults.chip_dead:
            out = bytes(len(tx))
        else:
            out = self._output_frame(start, len(tx))
            self._input_frame(tx)
        self.clock.advance(self._overhead_s + len(tx) * 8 / self._spi_clock_hz)
        self.frames_served += 1
        self._set_drdy(asserted=False)
        if faults.miso_bit_error_rate > 0:
            flips = self._rng.random(len(out) * 8) < faults.miso_bit_error_rate
            out = bytes(np.frombuffer(out, np.uint8) ^ np.packbits(flips))
        return list(out)

    def close(self) -> None:
        self.closed = True

    # -- DRDY ------------------------------------------------------------------------------
    def attach_drdy_pin(self, pin: Any) -> None:
        """A gpiozero `MockPin` the chip drives: low while an unread result is waiting."""
        self._drdy_pin = pin
        self._set_drdy(asserted=self._latest_frame(self.clock.monotonic()) > self._last_read)

    def run_until_data_ready(self, timeout_s: float) -> bool:
        """Advance virtual time to the next DRDY the host sees (or by `timeout_s`)."""
        now = self.clock.monotonic()
        dropping = self._signals.faults(now).drop_drdy
        latest = self._latest_frame(now)
        if latest > self._last_read and not dropping:
            self._set_drdy(asserted=True)
            return True
        edge = self._ready_time(latest + 1)
        if dropping:
            edge += self._period_s  # the host misses this edge and wakes on the next one
        if edge > now + timeout_s:
            self.clock.advance(timeout_s)
            return False
        self.clock.advance_to(edge)
        self._set_drdy(asserted=True)
        return True

    def _set_drdy(self, *, asserted: bool) -> None:
        if self._drdy_pin is None:
            return
        if asserted:
            self._drdy_pin.drive_low()
        else:
            self._drdy_pin.drive_high()

    # -- conversions -------------------------------------------------------------------
    @property
    def _period_s(self) -> float:
        return _OSR_OF_CODE[(self._registers[REG_CLOCK] >> 2) & 0x7] / self._f_mod_hz

    def _ready_time(self, frame: int) -> float:
        return self._t0 + (frame + 1) * self._period_s

    def _latest_frame(self, at: float) -> int:
        # The tolerance keeps a read exactly at the DRDY instant on the new result.
        return math.floor((at - self._t0) / self._period_s + 1e-6) - 1

    def _frame_tail(self, frame: int, response: int) -> bytes:
        """The channel words and CRC word of result `frame` after `response`."""
        if frame < 0:
            data = bytes(WORD_BYTES * self._channels)
            crc = crc16_ccitt(data, crc16_ccitt((response << 8).to_bytes(WORD_BYTES, "big")))
            return data + crc.to_bytes(2, "big") + b"\x00"
        chunk, offset = divmod(frame, self._chunk_frames)
        if chunk not in self._cache:
            self._cache = {chunk: self._converted(chunk)}
        converted = self._cache[chunk]
        data = converted.data[offset]
        if response == converted.status:
            crc = converted.crc[offset]  # the usual answer to NULL: computed for the whole chunk
        else:
            crc = crc16_ccitt(data, crc16_ccitt((response << 8).to_bytes(WORD_BYTES, "big")))
        return data + crc.to_bytes(2, "big") + b"\x00"

    def _converted(self, chunk: int) -> _ConvertedChunk:
        """A chunk's results as frame bytes, with CRCs for the STATUS answer with fresh data."""
        codes = self._convert_chunk(chunk).T & 0xFFFFFF
        data = np.stack([codes >> 16, codes >> 8, codes], axis=-1).astype(np.uint8)
        data = data.reshape(len(codes), -1)
        status = self._status(fresh=True) & ~STATUS_CRC_ERR
        head = np.tile(np.frombuffer((status << 8).to_bytes(3, "big"), np.uint8), (len(data), 1))
        crc = crc16_ccitt_rows(np.hstack([head, data]))
        return _ConvertedChunk([row.tobytes() for row in data], crc.tolist(), status)

    def _convert_chunk(self, chunk: int) -> npt.NDArray[np.int64]:
        first = chunk * self._chunk_frames
        frames = np.arange(first, first + self._chunk_frames)
        ready = (self._t0 + (frames + 1) * self._period_s).astype(np.float64)
        faults = self._signals.faults(float(ready[0]))
        kernel = sinc3_kernel(self._period_s)
        codes = np.zeros((self._channels, len(frames)), dtype=np.int64)
        enabled = self._registers[REG_CLOCK] >> 8
        by_phase: dict[int, list[int]] = {}
        for channel in range(self._channels):
            if enabled & (1 << channel):
                by_phase.setdefault(self._phase(channel), []).append(channel)
        for phase, channels in by_phase.items():
            times = ready + phase / self._f_mod_hz
            pins = self._front_end.pin_volts(self._signals, times, faults, self._rng, kernel)
            for channel in channels:
                row = self._rows[channel]
                volts = pins[row] if row >= 0 else np.zeros(len(frames))
                scaled = volts * self._gain(channel) / FULL_SCALE_V * (1 << 23)
                codes[channel] = np.clip(np.round(scaled), CODE_MIN, CODE_MAX)
        return codes

    def _gain(self, channel: int) -> int:
        register = REG_GAIN1 if channel < 4 else REG_GAIN2
        return _GAIN_OF_CODE[(self._registers[register] >> (4 * (channel % 4))) & 0x7]

    def _phase(self, channel: int) -> int:
        field = self._registers[channel_config_address(channel)] >> 6
        return field - 1024 if field & 0x200 else field

    # -- the SPI frame ---------------------------------------------------------------------
    def _reset(self) -> None:
        self._registers = [0] * _REGISTER_COUNT
        self._registers[REG_ID] = 0x2000 | (self._channels << 8)
        self._registers[REG_MODE] = MODE_DEFAULT
        all_channels = (1 << self._channels) - 1
        self._registers[REG_CLOCK] = (
            (all_channels << 8) | (OSR_CODES[1024] << 2) | CLOCK_PWR_HIGH_RESOLUTION
        )
        self._registers[0x06] = CFG_DEFAULT
        self._crc_error = False
        self._pending: int | None = reset_response(self._channels)
        self._restart_conversions()

    def _restart_conversions(self) -> None:
        self._t0 = self.clock.monotonic()
        self._last_read = -1
        self._cache = {}

    def _status(self, fresh: bool) -> int:
        mode = self._registers[REG_MODE]
        status = mode & 0x0F00  # CRC_TYPE, RESET and WLENGTH mirror MODE
        if self._crc_error:
            status |= STATUS_CRC_ERR
        if fresh:
            status |= (self._registers[REG_CLOCK] >> 8) & ((1 << self._channels) - 1)
        return status

    def _output_frame(self, at: float, length: int) -> bytes:
        latest = self._latest_frame(at)
        fresh = latest > self._last_read
        if self._pending is None:
            response = self._status(fresh)
            self._crc_error = False
        else:
            response = self._pending
        self._last_read = max(self._last_read, latest)
        body = (response << 8).to_bytes(WORD_BYTES, "big") + self._frame_tail(latest, response)
        return body.ljust(length, b"\x00")[:length]  # as many bytes as were clocked

    def _input_frame(self, tx: bytes) -> None:
        if tx == self._null_frame:
            self._pending = None  # the frame the driver sends thousands of times a second
            return
        words = [int.from_bytes(tx[i : i + 2], "big") for i in range(0, len(tx) - 2, WORD_BYTES)]
        if not words:
            return
        command = words[0]
        data_words = (command & 0x7F) + 1 if command >> 13 == 0b011 else 0
        if self._registers[REG_MODE] & MODE_RX_CRC_EN:
            crc_at = (1 + data_words) * WORD_BYTES
            received = int.from_bytes(tx[crc_at : crc_at + 2], "big")
            if len(tx) < crc_at + 2 or crc16_ccitt(tx[:crc_at]) != received:
                self._crc_error = True
                self._pending = None  # the command is ignored; STATUS shows CRC_ERR
                return
        self._pending = None
        if command == NULL:
            return
        if command == RESET:
            self._reset()
        elif command in (STANDBY, WAKEUP, LOCK, UNLOCK):
            self._pending = command  # acknowledged by echo; power states are not modelled
        elif command >> 13 == 0b101:  # RREG
            address = (command >> 7) & 0x3F
            self._pending = (
                self._status(False) if address == REG_STATUS else self._registers[address]
            )
        elif command >> 13 == 0b011:  # WREG
            self._write(command, words[1 : 1 + data_words])

    def _write(self, command: int, values: Sequence[int]) -> None:
        address = (command >> 7) & 0x3F
        for offset, value in enumerate(values):
            register = address + offset
            if register in (REG_ID, REG_STATUS) or register >= _REGISTER_COUNT:
                continue  # read-only
            self._registers[register] = value
            if register == REG_CLOCK:
                self._restart_conversions()
        self._cache = {}
        self._pending = wreg_ack(address, len(values))

    @property
    def frame_length(self) -> int:
        return frame_words(self._channels) * WORD_BYTES


class SimulatedDataReady:
    """The fake side of DRDY: the chip moves virtual time to its next DRDY edge and drives the
    mock pin; the driver's wait then goes through the same gpiozero device as on the Pi."""

    def __init__(self, chip: FakeAds131m0x, gpio: GpioDataReady) -> None:
        self._chip = chip
        self._gpio = gpio

    def wait(self, timeout_s: float) -> bool:
        self._chip.run_until_data_ready(timeout_s)
        return self._gpio.wait(0.0)  # virtual time has passed already: no real waiting

    def close(self) -> None:
        self._gpio.close()
