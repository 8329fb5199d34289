"""The spidev frame bus: the kernel message it builds, run against the fake MCP3208."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from drivers.adc.fake_mcp3208 import FakeMcp3208
from drivers.adc.mcp3208 import Mcp3208, command_bytes
from drivers.errors import BusError
from drivers.spi import (
    MAX_TRANSFERS_PER_MESSAGE,
    SPI_IOC_TRANSFER,
    SpidevFrameBus,
    checked_xfer2,
    spi_ioc_message,
)
from tests.drivers.signals import Sines

FD = 17


class KernelStandIn:
    """Plays the spidev driver: decodes `SPI_IOC_MESSAGE(n)` and runs every transfer on the
    fake chip as its own chip-select cycle when `cs_change` says chip select goes high."""

    def __init__(self, chip: FakeMcp3208) -> None:
        self.chip = chip
        self.messages: list[np.ndarray[Any, Any]] = []
        self.sent: list[bytes] = []

    def ioctl(self, fd: int, request: int, transfers: np.ndarray[Any, Any]) -> int:
        assert fd == FD
        count = len(transfers)
        assert request == spi_ioc_message(count)
        self.messages.append(transfers.copy())
        assert all(transfers["cs_change"][:-1] == 1)
        assert transfers["cs_change"][-1] == 0
        lengths = set(transfers["len"].tolist())
        assert len(lengths) == 1
        length = lengths.pop()
        tx = b"".join(ctypes.string_at(int(t["tx_buf"]), int(t["len"])) for t in transfers)
        self.sent.append(tx)
        rx = self.chip.xfer_frames(tx, length)
        for index, transfer in enumerate(transfers):
            ctypes.memmove(
                int(transfer["rx_buf"]), rx[index * length : (index + 1) * length], length
            )
        return count


class SpidevStandIn:
    max_speed_hz = 2_000_000

    def __init__(self) -> None:
        self.closed = False

    def fileno(self) -> int:
        return FD

    def xfer2(self, values: Sequence[int]) -> list[int]:
        raise OSError(5, "Input/output error")

    def close(self) -> None:
        self.closed = True


def test_ioctl_numbers_and_struct_layout() -> None:
    assert spi_ioc_message(1) == 0x40206B00  # _IOW('k', 0, char[32])
    assert spi_ioc_message(2) == 0x40406B00
    assert SPI_IOC_TRANSFER.itemsize == 32
    assert MAX_TRANSFERS_PER_MESSAGE == 511
    with pytest.raises(ValueError, match=r"1\.\.511"):
        spi_ioc_message(512)


def test_one_message_carries_every_conversion_with_chip_select_toggled() -> None:
    chip = FakeMcp3208(Sines(), np.random.default_rng(0))
    kernel = KernelStandIn(chip)
    bus = SpidevFrameBus(SpidevStandIn(), ioctl=kernel.ioctl)
    adc = Mcp3208(bus, chip.clock.monotonic)
    try:
        block = adc.read_block(0.2)
    finally:
        adc.close()
    first = kernel.messages[0]
    assert len(first) == 508  # 127 scans of 4 channels; 511 is the kernel's limit
    assert set(first["len"].tolist()) == {3}
    assert set(first["speed_hz"].tolist()) == {2_000_000}
    assert set(first["bits_per_word"].tolist()) == {8}
    scan = b"".join(command_bytes(channel) for channel in range(4))
    assert kernel.sent[0] == scan * 127
    rms = np.std(block.codes * block.volts_per_code, axis=1)
    np.testing.assert_allclose(rms, [0.8, 0.2, 0.4, 0.6], rtol=5e-3)


def test_frames_must_fit_one_message() -> None:
    bus = SpidevFrameBus(SpidevStandIn(), ioctl=lambda *_: 0)
    with pytest.raises(ValueError, match="frames"):
        bus.xfer_frames(bytes(3 * 1366), 3)
    with pytest.raises(ValueError, match="frames"):
        bus.xfer_frames(bytes(4), 3)


def test_os_errors_become_bus_errors() -> None:
    def failing(fd: int, request: int, arg: object) -> int:
        raise OSError(121, "Remote I/O error")

    bus = SpidevFrameBus(SpidevStandIn(), ioctl=failing)
    with pytest.raises(BusError, match="Remote I/O error"):
        bus.xfer_frames(command_bytes(0), 3)
    with pytest.raises(BusError, match="Input/output error"):
        checked_xfer2(SpidevStandIn(), [0, 0, 0])


def test_mcp_driver_surfaces_a_bus_error() -> None:
    def failing(fd: int, request: int, arg: object) -> int:
        raise OSError(5, "Input/output error")

    with pytest.raises(BusError):
        Mcp3208(SpidevFrameBus(SpidevStandIn(), ioctl=failing), lambda: 0.0)
