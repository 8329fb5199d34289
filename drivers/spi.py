"""SPI access through the kernel's spidev interface, and the two shapes of it the ADC drivers use.

`SpiPort` is the part of `spidev.SpiDev` a driver needs for one transfer per chip select
(ADS131M0x: one frame per DRDY). `FrameBus` sends many short frames in one system call with chip
select released between them (MCP3208: one conversion per chip-select cycle).

py-spidev cannot do the latter: `xfer`, `xfer2` and `xfer3` each hand the kernel one
`spi_ioc_transfer`, so chip select stays low for the whole list and an MCP3208 would convert only
once. The kernel itself accepts up to 511 transfers in one `SPI_IOC_MESSAGE(n)` ioctl, each with
its own `cs_change` flag; `SpidevFrameBus` builds that message on the spidev file descriptor.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from drivers.errors import BusError

# include/uapi/linux/spi/spidev.h: struct spi_ioc_transfer, 32 bytes, native byte order.
SPI_IOC_TRANSFER = np.dtype(
    [
        ("tx_buf", "=u8"),
        ("rx_buf", "=u8"),
        ("len", "=u4"),
        ("speed_hz", "=u4"),
        ("delay_usecs", "=u2"),
        ("bits_per_word", "u1"),
        ("cs_change", "u1"),
        ("tx_nbits", "u1"),
        ("rx_nbits", "u1"),
        ("word_delay_usecs", "u1"),
        ("pad", "u1"),
    ]
)
SPI_IOC_MAGIC = ord("k")
# The ioctl number carries the message size in 14 bits: at most 16383 // 32 transfers.
MAX_TRANSFERS_PER_MESSAGE = 0x3FFF // SPI_IOC_TRANSFER.itemsize
# spidev's default `bufsiz` module parameter: the sum of all transfer lengths in one message.
SPIDEV_BUFSIZ = 4096


def spi_ioc_message(count: int) -> int:
    """`SPI_IOC_MESSAGE(count)`: _IOW('k', 0, char[count * 32]) on Linux (arm, arm64, x86)."""
    size = count * SPI_IOC_TRANSFER.itemsize
    if not 0 < size <= 0x3FFF:
        raise ValueError(f"an SPI message holds 1..{MAX_TRANSFERS_PER_MESSAGE} transfers")
    write = 1
    return (write << 30) | (size << 16) | (SPI_IOC_MAGIC << 8)


class SpiPort(Protocol):
    """What a driver uses of `spidev.SpiDev`: one transfer with chip select held low."""

    @property
    def max_speed_hz(self) -> int: ...

    def xfer2(self, values: Sequence[int]) -> list[int]: ...

    def close(self) -> None: ...


class SpidevHandle(SpiPort, Protocol):
    """A real `spidev.SpiDev`: it also has the file descriptor the frame bus needs."""

    def fileno(self) -> int: ...


class FrameBus(Protocol):
    """Frames of equal length, chip select released between frames, one bus message per call."""

    @property
    def max_speed_hz(self) -> int: ...

    def max_frames(self, frame_len: int) -> int:
        """How many frames of `frame_len` bytes fit into one message."""
        ...

    def xfer_frames(self, tx: bytes, frame_len: int) -> bytes:
        """Send `tx` as `len(tx) // frame_len` chip-select cycles; return the bytes read back."""
        ...

    def close(self) -> None: ...


IoctlFunction = Callable[[int, int, Any], Any]


class SpidevFrameBus:
    """`FrameBus` over spidev: one `SPI_IOC_MESSAGE(n)` with `cs_change` set between frames.

    The kernel holds chip select high for its default `cs_change` delay (10 µs) between frames;
    spidev offers no way to shorten it, so it sets the MCP3208's conversion period (docs/adc.md).
    """

    def __init__(self, spi: SpidevHandle, ioctl: IoctlFunction = fcntl.ioctl) -> None:
        self._spi = spi
        self._ioctl = ioctl
        self._fd = spi.fileno()

    @property
    def max_speed_hz(self) -> int:
        return int(self._spi.max_speed_hz)

    def max_frames(self, frame_len: int) -> int:
        return min(MAX_TRANSFERS_PER_MESSAGE, SPIDEV_BUFSIZ // frame_len)

    def xfer_frames(self, tx: bytes, frame_len: int) -> bytes:
        count, rest = divmod(len(tx), frame_len)
        if rest or not 0 < count <= self.max_frames(frame_len):
            raise ValueError(f"{len(tx)} bytes are not 1..{self.max_frames(frame_len)} frames")
        tx_buffer = np.frombuffer(tx, dtype=np.uint8).copy()
        rx_buffer = np.zeros(len(tx), dtype=np.uint8)
        transfers = np.zeros(count, dtype=SPI_IOC_TRANSFER)
        offsets = np.arange(count, dtype=np.uint64) * np.uint64(frame_len)
        transfers["tx_buf"] = np.uint64(tx_buffer.ctypes.data) + offsets
        transfers["rx_buf"] = np.uint64(rx_buffer.ctypes.data) + offsets
        transfers["len"] = frame_len
        transfers["speed_hz"] = self.max_speed_hz
        transfers["bits_per_word"] = 8
        # cs_change on every transfer but the last: chip select goes high between conversions
        # (on the last one it would mean "keep the chip selected after the message").
        transfers["cs_change"][:-1] = 1
        try:
            self._ioctl(self._fd, spi_ioc_message(count), transfers)
        except OSError as exc:
            raise BusError(f"SPI message of {count} frames failed: {exc}") from exc
        return rx_buffer.tobytes()

    def close(self) -> None:
        self._spi.close()


def open_spidev(bus: int, chip_select: int, max_speed_hz: int, mode: int) -> SpidevHandle:
    """Open `/dev/spidev<bus>.<chip_select>` with py-spidev (on the Pi)."""
    import spidev  # noqa: PLC0415  (only present on Linux; simulation never opens it)

    spi = spidev.SpiDev()
    try:
        spi.open(bus, chip_select)
        spi.max_speed_hz = max_speed_hz
        spi.mode = mode
    except OSError as exc:
        spi.close()
        raise BusError(f"cannot open /dev/spidev{bus}.{chip_select}: {exc}") from exc
    handle: SpidevHandle = spi
    return handle


def checked_xfer2(spi: SpiPort, frame: Sequence[int]) -> list[int]:
    """`spi.xfer2(frame)` with the operating system's error turned into `BusError`."""
    try:
        return spi.xfer2(frame)
    except OSError as exc:
        raise BusError(f"SPI transfer failed: {exc}") from exc
