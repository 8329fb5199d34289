"""ADS131M0x (TI's 24-bit simultaneous-sampling delta-sigma ADCs, 2..8 channels) over SPI, with
its DRDY line read through gpiozero.

Protocol (datasheet SBAS890, section 8.5): SPI mode 1; every transfer is one frame of 24-bit
words. The host sends a command word (16 bits, left-justified), register data words for WREG,
its CRC word, then zero words; the chip answers the previous frame's command in its first
word, then one conversion result per channel (two's complement, MSB first), then a CRC word.
The CRC is CRC-16-CCITT (0x1021, seed 0xFFFF) over every word before it. The response to NULL
is the STATUS register, whose DRDYn bits say whether the channel's result is new.

`Ads131m0x` resets the chip, checks its answer (0xFF20 + channel count) and ID register,
writes MODE (input CRC checked by the chip, 24-bit words), CLOCK (channel enables, OSR,
high-resolution mode), GAIN1/GAIN2 and the per-channel phase delay, reads every register back,
then reads one frame per DRDY in a reader thread (`ContinuousReader`). A frame whose CRC fails
is dropped and counted; frames the chip overwrote before they were read are counted from the
DRDY timing (the chip has no FIFO): conversion periods between two frames read, minus one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from drivers.adc.base import SampleBlock
from drivers.adc.continuous import Chunk, ContinuousReader
from drivers.adc.crc import crc16_ccitt
from drivers.errors import ChipNotFoundError, DataReadyTimeoutError, FrameError
from drivers.spi import SpiPort, checked_xfer2

WORD_BYTES = 3  # 24-bit words (MODE.WLENGTH = 01, the power-on default)
FULL_SCALE_V = 1.2  # internal reference, gain 1
CODE_MIN = -(1 << 23)
CODE_MAX = (1 << 23) - 1
SPI_MODE = 1

# Commands (16 bits).
NULL = 0x0000
RESET = 0x0011
STANDBY = 0x0022
WAKEUP = 0x0033
LOCK = 0x0555
UNLOCK = 0x0655

# Registers.
REG_ID = 0x00
REG_STATUS = 0x01
REG_MODE = 0x02
REG_CLOCK = 0x03
REG_GAIN1 = 0x04
REG_GAIN2 = 0x05
REG_CFG = 0x06

# MODE bits.
MODE_RX_CRC_EN = 1 << 12
MODE_RESET = 1 << 10
MODE_WLENGTH_24 = 0b01 << 8
MODE_TIMEOUT = 1 << 4
# STATUS bits.
STATUS_CRC_ERR = 1 << 12
# CLOCK fields.
CLOCK_PWR_HIGH_RESOLUTION = 0b10
OSR_CODES: Mapping[int, int] = {
    128: 0,
    256: 1,
    512: 2,
    1024: 3,
    2048: 4,
    4096: 5,
    8192: 6,
    16256: 7,
}
GAIN_CODES: Mapping[int, int] = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5, 64: 6, 128: 7}
PHASE_MIN, PHASE_MAX = -512, 511  # CHn_CFG.PHASE, in modulator clock periods

DEFAULT_CHANNELS: Mapping[str, int] = {"voltage": 0, "ct1": 1, "ct2": 2, "ct3": 3}
CLKIN_HZ = 8_192_000.0  # the HAT's oscillator; fMOD = CLKIN / 2 in high-resolution mode
_GRID_TOLERANCE = 0.25  # of a period: DRDY seen this long after its instant is still on time


def rreg(address: int, count: int = 1) -> int:
    """RREG: 101a aaaa annn nnnn (n = count - 1)."""
    return 0xA000 | (address << 7) | (count - 1)


def wreg(address: int, count: int = 1) -> int:
    """WREG: 011a aaaa annn nnnn (n = count - 1)."""
    return 0x6000 | (address << 7) | (count - 1)


def wreg_ack(address: int, count: int = 1) -> int:
    """The chip's answer to WREG in the next frame: 010a aaaa ammm mmmm."""
    return 0x4000 | (address << 7) | (count - 1)


def reset_response(channels: int) -> int:
    """The chip's answer to RESET (and after power-up): 0xFF20 + channel count (0xFF24 for M04)."""
    return 0xFF20 | channels


def channel_config_address(channel: int) -> int:
    """CHn_CFG: five registers per channel from 0x09."""
    return 0x09 + 5 * channel


def frame_words(channels: int) -> int:
    """Words per frame: response/command, one per channel, CRC."""
    return channels + 2


def command_frame(command: int, data: Sequence[int] = (), *, channels: int) -> bytes:
    """An input frame: command, data words, their CRC, zero words up to the frame length."""
    words = [command, *data]
    body = b"".join((word & 0xFFFF).to_bytes(2, "big") + b"\x00" for word in words)
    body += crc16_ccitt(body).to_bytes(2, "big") + b"\x00"
    length = max(frame_words(channels), len(words) + 1) * WORD_BYTES
    return body.ljust(length, b"\x00")


def frame_crc_ok(frame: Sequence[int] | bytes, words: int) -> bool:
    """Whether an output frame's last word carries the CRC of the words before it."""
    crc_at = (words - 1) * WORD_BYTES
    return crc16_ccitt(frame[:crc_at]) == (frame[crc_at] << 8) | frame[crc_at + 1]


def response_word(frame: Sequence[int] | bytes) -> int:
    return (frame[0] << 8) | frame[1]


def channel_codes(frame: Sequence[int] | bytes, channels: int) -> list[int]:
    """The signed 24-bit results of an output frame."""
    codes = []
    for channel in range(channels):
        at = (channel + 1) * WORD_BYTES
        value = (frame[at] << 16) | (frame[at + 1] << 8) | frame[at + 2]
        codes.append(value - (1 << 24) if value & 0x800000 else value)
    return codes


class DataReady(Protocol):
    """The DRDY line: wait until the chip has a frame ready."""

    def wait(self, timeout_s: float) -> bool:
        """True once DRDY is asserted (at once if it already is), False after `timeout_s`."""
        ...

    def close(self) -> None: ...


class GpioDataReady:
    """DRDY through gpiozero: a `DigitalInputDevice` whose active state is the low level."""

    def __init__(self, device: Any) -> None:
        self._device = device

    @classmethod
    def on_pin(cls, pin: int, pin_factory: Any = None) -> GpioDataReady:
        from gpiozero import DigitalInputDevice  # noqa: PLC0415  (keeps drivers importable)

        # DRDY is a push-pull output of the chip: no pull resistor, active low.
        device = DigitalInputDevice(pin, pull_up=None, active_state=False, pin_factory=pin_factory)
        return cls(device)

    def wait(self, timeout_s: float) -> bool:
        return bool(self._device.wait_for_active(timeout=timeout_s))

    def close(self) -> None:
        self._device.close()


class Ads131m0x:
    """An `AdcDriver` for the ADS131M02/03/04/06/08: configured, then read frame by frame."""

    def __init__(
        self,
        spi: SpiPort,
        data_ready: DataReady,
        clock: Callable[[], float],
        *,
        channels: int = 4,
        roles: Mapping[str, int] = DEFAULT_CHANNELS,
        osr: int = 1024,
        gains: Sequence[int] | None = None,
        phase_delays: Sequence[int] | None = None,
        clkin_hz: float = CLKIN_HZ,
        drdy_timeout_s: float = 0.1,
        command_retries: int = 3,
        chunk_frames: int = 64,
        sync_reset: Any = None,
    ) -> None:
        """`sync_reset` is the SYNC/RESET line (a gpiozero output device holding it high), kept
        open for the driver's lifetime so the chip stays out of reset."""
        if channels not in (2, 3, 4, 6, 8):
            raise ValueError(f"the ADS131M0x family has 2, 3, 4, 6 or 8 channels, not {channels}")
        if not roles or len(set(roles.values())) != len(roles):
            raise ValueError(f"roles need distinct channels: {dict(roles)}")
        if any(not 0 <= ch < channels for ch in roles.values()):
            raise ValueError(f"a role's channel is outside 0..{channels - 1}: {dict(roles)}")
        if osr not in OSR_CODES:
            raise ValueError(f"OSR must be one of {sorted(OSR_CODES)}")
        self._gains = tuple(gains) if gains is not None else (1,) * channels
        self._phases = tuple(phase_delays) if phase_delays is not None else (0,) * channels
        if len(self._gains) != channels or any(g not in GAIN_CODES for g in self._gains):
            raise ValueError(f"one gain per channel from {sorted(GAIN_CODES)}")
        if len(self._phases) != channels or any(
            not PHASE_MIN <= p <= PHASE_MAX for p in self._phases
        ):
            raise ValueError(f"one phase delay per channel in {PHASE_MIN}..{PHASE_MAX}")
        self._spi = spi
        self._data_ready = data_ready
        self._clock = clock
        self._channels = channels
        self._words = frame_words(channels)
        self._roles = tuple(roles)
        self._role_channels = [roles[role] for role in self._roles]
        self._osr = osr
        self._f_mod_hz = clkin_hz / 2
        self._period_s = osr / self._f_mod_hz
        self._drdy_timeout_s = drdy_timeout_s
        self._retries = command_retries
        self._null_frame = list(command_frame(NULL, channels=channels))
        self._grid_s: float | None = None
        self._chunk_frames = chunk_frames
        self._sync_reset = sync_reset
        used_gains = {self._gains[ch] for ch in self._role_channels}
        if len(used_gains) != 1:
            raise ValueError("SampleBlock has one scale: give every used channel the same gain")
        self._volts_per_code = FULL_SCALE_V / used_gains.pop() / (1 << 23)
        self._configure()
        self._reader = ContinuousReader(self._read_chunk, len(self._roles), name="ads131m0x")

    # -- AdcDriver -----------------------------------------------------------------------
    @property
    def roles(self) -> tuple[str, ...]:
        return self._roles

    @property
    def nominal_rate_hz(self) -> float:
        return self._f_mod_hz / self._osr

    @property
    def volts_per_code(self) -> float:
        return self._volts_per_code

    def read_block(self, duration_s: float) -> SampleBlock:
        """The frames of the next `duration_s`; frames lost to CRC errors or overwriting counted."""
        block = self._reader.read_block(duration_s)
        return SampleBlock(
            roles=self._roles,
            codes=block.codes,
            times_s=block.times_s,
            volts_per_code=self._volts_per_code,
            code_min=CODE_MIN,
            code_max=CODE_MAX,
            crc_errors=block.crc_errors,
            missed_frames=block.missed_frames,
        )

    def close(self) -> None:
        self._reader.close()
        self._data_ready.close()
        self._spi.close()
        if self._sync_reset is not None:
            self._sync_reset.close()

    # -- acquisition helpers -------------------------------------------------------------
    @property
    def _drdy_mask(self) -> int:
        return (1 << self._channels) - 1

    def _frames_since_last(self, now: float) -> int:
        """Conversion periods since the previous frame read; > 1 means frames were overwritten.

        `_grid_s` tracks when the last frame read became ready. A frame seen soon after its
        predicted instant re-anchors the grid (absorbing clock drift); a late one is counted
        from the grid, so exact counts need a DRDY latency below a quarter period.
        """
        grid = self._grid_s
        if grid is None:
            self._grid_s = now
            return 1
        periods = max(1, math.floor((now - grid) / self._period_s + _GRID_TOLERANCE))
        grid += periods * self._period_s
        self._grid_s = now if now - grid < _GRID_TOLERANCE * self._period_s else grid
        return periods

    def _read_chunk(self) -> Chunk:
        """`chunk_frames` conversion periods, read one frame per DRDY."""
        codes: list[list[int]] = []
        seen_s: list[float] = []
        slots: list[int] = []
        crc_error_slots: list[int] = []
        missed_slots: list[int] = []
        slot = 0
        progress_s = self._clock()
        while slot < self._chunk_frames:
            if not self._data_ready.wait(self._drdy_timeout_s):
                raise DataReadyTimeoutError(
                    f"ADS131M0{self._channels}: no DRDY within {self._drdy_timeout_s} s"
                )
            now = self._clock()
            frame = checked_xfer2(self._spi, self._null_frame)
            crc_ok = frame_crc_ok(frame, self._words)
            if crc_ok and response_word(frame) & self._drdy_mask == 0:
                # This result was read already. DRDY stuck active with no new data is a dead link.
                if now - progress_s > self._drdy_timeout_s:
                    raise DataReadyTimeoutError(
                        f"ADS131M0{self._channels}: DRDY active but no new data for "
                        f"{self._drdy_timeout_s} s"
                    )
                continue
            progress_s = now
            step = self._frames_since_last(now)
            missed_slots.extend(range(slot + 1, slot + step))
            slot += step
            if not crc_ok:
                crc_error_slots.append(slot)  # dropped: none of its words can be trusted
                continue
            frame_codes = channel_codes(frame, self._channels)
            codes.append([frame_codes[ch] for ch in self._role_channels])
            seen_s.append(now)
            slots.append(slot)
        return self._chunk(codes, seen_s, slots, slot, lost=(crc_error_slots, missed_slots))

    def _chunk(
        self,
        codes: list[list[int]],
        seen_s: list[float],
        slots: list[int],
        slot_count: int,
        *,
        lost: tuple[list[int], list[int]],
    ) -> Chunk:
        """Sample instants for the frames read; `lost` = slots of CRC errors, missed frames."""
        crc_error_slots, missed_slots = lost
        roles = len(self._roles)
        code_array = np.array(codes, dtype=np.int32).reshape(-1, roles).T.copy()
        slot_array = np.array(slots, dtype=np.float64)
        if seen_s:
            # The chip's clock sets a regular grid; DRDY is seen at or after each grid point,
            # so the observation with the least host latency anchors the chunk's grid.
            anchor = float(np.min(np.array(seen_s) - slot_array * self._period_s))
        else:
            anchor = self._clock() - slot_count * self._period_s
        # A result is the sinc3 average over the three periods before its DRDY: its centre lies
        # 1.5 periods earlier. A channel's phase delay moves its samples later.
        centre = anchor - 1.5 * self._period_s
        frame_times = centre + slot_array * self._period_s
        offsets = np.array([self._phases[ch] / self._f_mod_hz for ch in self._role_channels])
        return Chunk(
            codes=code_array,
            times_s=frame_times[None, :] + offsets[:, None],
            start_s=centre + 0.5 * self._period_s,
            end_s=centre + (slot_count + 0.5) * self._period_s,
            crc_error_times_s=centre + np.array(crc_error_slots, dtype=np.float64) * self._period_s,
            missed_times_s=centre + np.array(missed_slots, dtype=np.float64) * self._period_s,
        )

    # -- configuration -------------------------------------------------------------------
    def _exchange(self, frame: bytes) -> list[int]:
        return checked_xfer2(self._spi, list(frame))

    def _command(self, command: int, data: Sequence[int] = ()) -> int:
        """Send a command and return the chip's answer, read with the following NULL frame."""
        for _ in range(self._retries):
            self._exchange(command_frame(command, data, channels=self._channels))
            answer = self._exchange(bytes(self._null_frame))
            if frame_crc_ok(answer, self._words):
                return response_word(answer)
        raise FrameError(f"no frame with a valid CRC after command 0x{command:04X}")

    def _configure(self) -> None:
        expected = reset_response(self._channels)
        try:
            answer = self._command(RESET)
        except FrameError as exc:
            raise ChipNotFoundError(f"ADS131M0{self._channels} does not answer: {exc}") from exc
        if answer != expected:
            raise ChipNotFoundError(
                f"RESET answered 0x{answer:04X}, expected 0x{expected:04X}: "
                f"no ADS131M0{self._channels} on the bus"
            )
        chip_id = self._command(rreg(REG_ID))
        if chip_id >> 8 != 0x20 | self._channels:
            raise ChipNotFoundError(
                f"ID register 0x{chip_id:04X} is not an ADS131M0{self._channels}"
            )
        for address, value in self._register_plan().items():
            ack = self._command(wreg(address), [value])
            read_back = self._command(rreg(address))
            if ack != wreg_ack(address) or read_back != value:
                raise ChipNotFoundError(
                    f"register 0x{address:02X}: wrote 0x{value:04X}, "
                    f"acknowledged 0x{ack:04X}, read back 0x{read_back:04X}"
                )
        self._grid_s = None

    def _register_plan(self) -> dict[int, int]:
        """Register values, in writing order: MODE first so every later write is CRC-checked."""
        plan = {REG_MODE: MODE_RX_CRC_EN | MODE_WLENGTH_24 | MODE_TIMEOUT}
        enabled = 0
        for channel in self._role_channels:
            enabled |= 1 << channel
        plan[REG_CLOCK] = (enabled << 8) | (OSR_CODES[self._osr] << 2) | CLOCK_PWR_HIGH_RESOLUTION
        gain_words = [0, 0]
        for channel, gain in enumerate(self._gains):
            gain_words[channel // 4] |= GAIN_CODES[gain] << (4 * (channel % 4))
        plan[REG_GAIN1] = gain_words[0]
        if self._channels > 4:
            plan[REG_GAIN2] = gain_words[1]
        for channel, phase in enumerate(self._phases):
            plan[channel_config_address(channel)] = (phase & 0x3FF) << 6
        return plan
