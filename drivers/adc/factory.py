"""Opening an ADC: the HAT's real chip on the Pi, or a fake chip fed by simulated signals.

Both return an `AdcDriver`; the product code above them cannot tell the difference, except
that a simulated driver's clock is the fake chip's virtual clock (its `SampleBlock.times_s`
are virtual seconds from `start_s`, and a simulated second costs far less than a real one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers.adc.ads131m0x import SPI_MODE as ADS_SPI_MODE
from drivers.adc.ads131m0x import Ads131m0x, GpioDataReady
from drivers.adc.base import AdcDriver
from drivers.adc.fake_ads131m0x import FakeAds131m0x, SimulatedDataReady
from drivers.adc.fake_mcp3208 import FakeMcp3208
from drivers.adc.frontend import ads131m0x_front_end, mcp3208_front_end
from drivers.adc.mcp3208 import Mcp3208
from drivers.adc.signals import PrimarySignals
from drivers.errors import GpioError
from drivers.pinmap import PinMap, load_pinmap
from drivers.spi import SpidevFrameBus, open_spidev
from drivers.virtual_time import VirtualClock

MCP3208_SPI_MODE = 0
ADS_KINDS: dict[str, int] = {f"ads131m0{n}": n for n in (2, 3, 4, 6, 8)}
ADC_KINDS = ("mcp3208", *ADS_KINDS)


def ads_roles(channels: int) -> dict[str, int]:
    """The HAT's inputs on an ADS131M0x: the voltage on CH0, CTs on the channels that exist."""
    roles = ("voltage", "ct1", "ct2", "ct3")[: min(channels, 4)]
    return {role: channel for channel, role in enumerate(roles)}


def _check_kind(kind: str) -> None:
    if kind not in ADC_KINDS:
        raise ValueError(f"unknown ADC {kind!r}; expected one of {', '.join(ADC_KINDS)}")


def open_adc(
    kind: str,
    *,
    pinmap: PinMap | None = None,
    pin_factory: Any = None,
    clock: Callable[[], float] = time.monotonic,
    osr: int = 1024,
) -> AdcDriver:
    """The HAT's ADC on the Pi: SPI bus, chip select, clock and GPIOs from the pin map.

    Raises `BusError` when spidev cannot be opened or a transfer fails, `ChipNotFoundError`
    when the chip does not answer its handshake, `GpioError` when DRDY or RESET is taken.
    """
    _check_kind(kind)
    pins = pinmap or load_pinmap()
    if kind == "mcp3208":
        spi = open_spidev(
            pins.spi_bus, pins.spi_chip_select, pins.spi_speed_mcp3208_hz, MCP3208_SPI_MODE
        )
        try:
            return Mcp3208(SpidevFrameBus(spi), clock)
        except BaseException:
            spi.close()
            raise
    from gpiozero import DigitalOutputDevice, GPIOZeroError  # noqa: PLC0415

    spi = open_spidev(pins.spi_bus, pins.spi_chip_select, pins.spi_speed_ads131m0x_hz, ADS_SPI_MODE)
    opened: list[Any] = [spi]
    try:
        try:
            # SYNC/RESET is active low: holding the device "off" keeps the line high.
            sync_reset = DigitalOutputDevice(
                pins.adc_reset, active_high=False, initial_value=False, pin_factory=pin_factory
            )
            opened.append(sync_reset)
            data_ready = GpioDataReady.on_pin(pins.adc_drdy, pin_factory)
            opened.append(data_ready)
        except GPIOZeroError as exc:
            raise GpioError(f"ADC DRDY/RESET GPIO unavailable: {exc}") from exc
        return Ads131m0x(
            spi,
            data_ready,
            clock,
            channels=ADS_KINDS[kind],
            roles=ads_roles(ADS_KINDS[kind]),
            osr=osr,
            sync_reset=sync_reset,
        )
    except BaseException:
        for part in reversed(opened):
            part.close()
        raise


def open_simulated_adc(
    kind: str,
    signals: PrimarySignals,
    seed: int | np.random.Generator,
    *,
    burden_ohm: float = 40.0,
    ct_ratio: float = 2000.0,
    osr: int = 1024,
    pin_factory: Any = None,
    pinmap: PinMap | None = None,
    clock: VirtualClock | None = None,
    start_s: float = 0.0,
) -> AdcDriver:
    """The same driver as on the Pi, talking to a fake chip that samples `signals`.

    `clock` (default: a new `VirtualClock` at `start_s`) is the fake's virtual time and the
    driver's clock. `pin_factory` must be a gpiozero `MockFactory` (a new one by default): the
    ADS131M0x fake drives its DRDY pin.
    """
    _check_kind(kind)
    pins = pinmap or load_pinmap()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    virtual = clock or VirtualClock(start_s)
    if kind == "mcp3208":
        mcp = FakeMcp3208(
            signals,
            rng,
            front_end=mcp3208_front_end(burden_ohm, ct_ratio),
            spi_clock_hz=pins.spi_speed_mcp3208_hz,
            clock=virtual,
        )
        return Mcp3208(mcp, virtual.monotonic)
    from gpiozero.pins.mock import MockFactory  # noqa: PLC0415

    factory = pin_factory or MockFactory()
    channels = ADS_KINDS[kind]
    ads = FakeAds131m0x(
        signals,
        rng,
        channels=channels,
        front_end=ads131m0x_front_end(burden_ohm, ct_ratio),
        spi_clock_hz=pins.spi_speed_ads131m0x_hz,
        clock=virtual,
    )
    ads.attach_drdy_pin(factory.pin(pins.adc_drdy))
    gpio = GpioDataReady.on_pin(pins.adc_drdy, factory)
    try:
        data_ready = SimulatedDataReady(ads, gpio)
        return Ads131m0x(
            ads,
            data_ready,
            virtual.monotonic,
            channels=channels,
            roles=ads_roles(channels),
            osr=osr,
        )
    except BaseException:
        gpio.close()
        raise
