"""The 128x64 SSD1306 OLED through luma.oled: I2C (the HAT, address 0x3C) or SPI (an option).

Its fake twin is luma's own `dummy` device, which keeps the last frame it was given; the same
`Display` wraps either, so the panel code is the same on a Pi and in simulation.
"""

from __future__ import annotations

from typing import Any

from luma.core.device import dummy
from luma.core.error import Error as LumaError
from luma.core.interface.serial import i2c, spi
from luma.oled.device import ssd1306
from PIL import Image

from drivers.errors import BusError, ChipNotFoundError

WIDTH, HEIGHT = 128, 64


class Display:
    """A luma device plus the last frame shown (the web mirror reads it on a Pi too)."""

    def __init__(self, device: Any) -> None:
        if tuple(device.size) != (WIDTH, HEIGHT):
            raise ValueError(f"expected a {WIDTH}x{HEIGHT} device, not {device.size}")
        self.device = device
        self._last: Image.Image | None = None

    def show(self, image: Image.Image) -> None:
        """Send one full frame; an I/O failure becomes `BusError`."""
        frame = image.convert("1") if image.mode != "1" else image
        try:
            self.device.display(frame)
        except OSError as exc:
            raise BusError(f"OLED write failed: {exc}") from exc
        self._last = frame.copy()

    @property
    def last_frame(self) -> Image.Image | None:
        return None if self._last is None else self._last.copy()

    def close(self) -> None:
        """Blank the panel and release the bus."""
        try:
            self.device.cleanup()
        except OSError as exc:
            raise BusError(f"OLED cleanup failed: {exc}") from exc


def open_i2c(bus: int, address: int) -> Display:
    """The HAT's OLED on I2C `bus` (1 on the Pi header) at `address` (0x3C from the pin map)."""
    try:
        interface = i2c(port=bus, address=address)
        return Display(ssd1306(interface, width=WIDTH, height=HEIGHT))
    except LumaError as exc:
        raise ChipNotFoundError(
            f"no SSD1306 at I2C bus {bus} address {address:#04x}: {exc}"
        ) from exc
    except OSError as exc:
        raise BusError(f"cannot open I2C bus {bus}: {exc}") from exc


def open_spi(port: int, chip_select: int, gpio_dc: int, gpio_reset: int) -> Display:
    """An SPI variant of the module (4-wire SPI with D/C and reset lines)."""
    try:
        interface = spi(port=port, device=chip_select, gpio_DC=gpio_dc, gpio_RST=gpio_reset)
        return Display(ssd1306(interface, width=WIDTH, height=HEIGHT))
    except LumaError as exc:
        raise ChipNotFoundError(
            f"cannot set up the SSD1306 on SPI{port}.{chip_select}: {exc}"
        ) from exc
    except OSError as exc:
        raise BusError(f"cannot open SPI{port}.{chip_select}: {exc}") from exc


def open_dummy() -> Display:
    """The fake twin: luma's dummy device in the SSD1306's 1-bit mode; it keeps the last frame."""
    return Display(dummy(width=WIDTH, height=HEIGHT, mode="1"))
