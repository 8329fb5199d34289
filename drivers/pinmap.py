"""The HAT pin map (`hardware/pinmap.toml`), loaded once and passed to whoever needs a pin."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from drivers.errors import PinMapError

_REPO_PINMAP = Path(__file__).resolve().parent.parent / "hardware" / "pinmap.toml"


@dataclass(frozen=True, slots=True)
class UartPins:
    device: str
    tx: int
    rx: int


@dataclass(frozen=True, slots=True)
class PinMap:
    id_eeprom: tuple[int, ...]
    i2c_bus: int
    i2c_sda: int
    i2c_scl: int
    oled_address: int
    spi_bus: int
    spi_chip_select: int
    spi_pins: tuple[int, ...]  # CE0, MISO, MOSI, SCLK
    spi_speed_mcp3208_hz: int
    spi_speed_ads131m0x_hz: int
    p1_uart: UartPins
    rs485_uart: UartPins
    button_left: int
    button_ok: int
    button_right: int
    led_cs: int
    led_p1: int
    p1_request: int
    adc_drdy: int
    adc_reset: int

    def application_gpios(self) -> dict[str, int]:
        """The GPIOs the application drives or reads itself, by role."""
        return {
            "button_left": self.button_left,
            "button_ok": self.button_ok,
            "button_right": self.button_right,
            "led_cs": self.led_cs,
            "led_p1": self.led_p1,
            "p1_request": self.p1_request,
            "adc_drdy": self.adc_drdy,
            "adc_reset": self.adc_reset,
        }

    def bus_gpios(self) -> dict[str, int]:
        """GPIOs taken by buses and the ID EEPROM."""
        out = {f"id_eeprom_{n}": pin for n, pin in enumerate(self.id_eeprom)}
        out |= {"i2c_sda": self.i2c_sda, "i2c_scl": self.i2c_scl}
        out |= {
            f"spi_{n}": pin
            for n, pin in zip(("ce0", "miso", "mosi", "sclk"), self.spi_pins, strict=True)
        }
        out |= {"p1_tx": self.p1_uart.tx, "p1_rx": self.p1_uart.rx}
        out |= {"rs485_tx": self.rs485_uart.tx, "rs485_rx": self.rs485_uart.rx}
        return out


def _read_text(path: Path | None) -> str:
    if path is not None:
        return path.read_text(encoding="utf-8")
    if _REPO_PINMAP.exists():
        return _REPO_PINMAP.read_text(encoding="utf-8")
    return resources.files("drivers").joinpath("pinmap.toml").read_text(encoding="utf-8")


def load_pinmap(path: Path | None = None) -> PinMap:
    """Read the pin map; the packaged copy is used when the repository's is not there."""
    try:
        data = tomllib.loads(_read_text(path))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PinMapError(f"cannot load the pin map: {exc}") from exc
    try:
        spi, gpio, uart = data["spi"], data["gpio"], data["uart"]
        return PinMap(
            id_eeprom=tuple(data["reserved"]["id_eeprom"]),
            i2c_bus=data["i2c"]["bus"],
            i2c_sda=data["i2c"]["sda"],
            i2c_scl=data["i2c"]["scl"],
            oled_address=data["i2c"]["oled_address"],
            spi_bus=spi["bus"],
            spi_chip_select=spi["chip_select"],
            spi_pins=(spi["ce0"], spi["miso"], spi["mosi"], spi["sclk"]),
            spi_speed_mcp3208_hz=spi["mcp3208_speed_hz"],
            spi_speed_ads131m0x_hz=spi["ads131m0x_speed_hz"],
            p1_uart=UartPins(**uart["p1"]),
            rs485_uart=UartPins(**uart["rs485"]),
            **{
                name: gpio[name]
                for name in (
                    "button_left",
                    "button_ok",
                    "button_right",
                    "led_cs",
                    "led_p1",
                    "p1_request",
                    "adc_drdy",
                    "adc_reset",
                )
            },
        )
    except (KeyError, TypeError) as exc:
        raise PinMapError(f"pin map entry missing or malformed: {exc}") from exc
