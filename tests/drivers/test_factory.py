"""Opening ADCs: simulated ones for every kind, real ones failing cleanly without hardware."""

from __future__ import annotations

import os

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from drivers.adc import ADC_KINDS, open_adc, open_simulated_adc
from drivers.adc.fake_ads131m0x import FakeAds131m0x
from drivers.adc.fake_mcp3208 import FakeMcp3208
from drivers.errors import BusError, ChipNotFoundError
from drivers.pinmap import load_pinmap
from drivers.virtual_time import VirtualClock
from tests.drivers.signals import Sines


@pytest.mark.parametrize("kind", ADC_KINDS)
def test_every_kind_opens_simulated_and_measures(kind: str) -> None:
    clock = VirtualClock(0.0)
    adc = open_simulated_adc(kind, Sines(), seed=7, clock=clock, pin_factory=MockFactory())
    try:
        block = adc.read_block(0.2)
    finally:
        adc.close()
    roles = {"ads131m02": 2, "ads131m03": 3}.get(kind, 4)
    assert adc.roles == ("voltage", "ct1", "ct2", "ct3")[:roles]
    assert block.sample_count == pytest.approx(0.2 * adc.nominal_rate_hz, rel=0.01)
    # The clock starts at 0; the first block starts after the chip's handshake.
    assert 0.0 < block.times_s[0, 0] < 0.02
    assert clock.monotonic() >= 0.2


def test_simulation_is_deterministic_with_a_seed() -> None:
    blocks = []
    for _ in range(2):
        adc = open_simulated_adc("ads131m04", Sines(), seed=np.random.default_rng(3))
        try:
            blocks.append(adc.read_block(0.1))
        finally:
            adc.close()
    np.testing.assert_array_equal(blocks[0].codes, blocks[1].codes)
    np.testing.assert_array_equal(blocks[0].times_s, blocks[1].times_s)


def test_burden_setting_reaches_the_front_end() -> None:
    readings = {}
    for burden in (20.0, 40.0):
        adc = open_simulated_adc("ads131m04", Sines(), seed=1, burden_ohm=burden)
        try:
            block = adc.read_block(0.2)
        finally:
            adc.close()
        readings[burden] = np.std(block.codes[1] * block.volts_per_code)
    assert readings[40.0] == pytest.approx(2 * readings[20.0], rel=1e-3)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ADC"):
        open_adc("mcp3008")
    with pytest.raises(ValueError, match="unknown ADC"):
        open_simulated_adc("ads1115", Sines(), seed=0)


@pytest.mark.skipif(os.path.exists("/dev/spidev0.0"), reason="this machine has SPI")
@pytest.mark.parametrize("kind", ["mcp3208", "ads131m04"])
def test_real_adc_without_spi_raises_bus_error(kind: str) -> None:
    with pytest.raises(BusError, match=r"spidev0\.0"):
        open_adc(kind, pin_factory=MockFactory())


def test_real_ads_path_claims_its_pins_from_the_pin_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """`open_adc` on a Pi, with only spidev swapped for the fake chip: SYNC/RESET held high on
    GPIO12 while open, DRDY read on GPIO6 through gpiozero, both released on close."""
    factory = MockFactory()
    chip = FakeAds131m0x(Sines(), np.random.default_rng(0))
    opened_with: list[tuple[int, int, int, int]] = []

    def fake_spidev(bus: int, chip_select: int, speed: int, mode: int) -> FakeAds131m0x:
        opened_with.append((bus, chip_select, speed, mode))
        return chip

    monkeypatch.setattr("drivers.adc.factory.open_spidev", fake_spidev)
    pins = load_pinmap()
    adc = open_adc("ads131m04", pin_factory=factory, clock=chip.clock.monotonic)
    try:
        assert opened_with == [(pins.spi_bus, pins.spi_chip_select, pins.spi_speed_ads131m0x_hz, 1)]
        assert factory.pin(pins.adc_reset).state is True  # active low: released, chip running
        assert adc.nominal_rate_hz == 4000
    finally:
        adc.close()
    assert chip.closed
    with pytest.raises(ChipNotFoundError):  # the pins are free again: a second open gets as far
        open_adc("ads131m08", pin_factory=factory, clock=chip.clock.monotonic)


def test_real_mcp_path_uses_the_frame_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    chip = FakeMcp3208(Sines(), np.random.default_rng(0))
    modes: list[int] = []

    def fake_spidev(bus: int, chip_select: int, speed: int, mode: int) -> object:
        modes.append(mode)
        return object()

    monkeypatch.setattr("drivers.adc.factory.open_spidev", fake_spidev)
    monkeypatch.setattr("drivers.adc.factory.SpidevFrameBus", lambda _spi: chip)
    adc = open_adc("mcp3208", clock=chip.clock.monotonic)
    try:
        assert modes == [0]
        assert adc.read_block(0.1).sample_count == pytest.approx(1085, abs=2)
    finally:
        adc.close()


@pytest.mark.parametrize("kind", ["mcp3208", "ads131m04"])
@pytest.mark.parametrize("duration_s", [0.0, -1.0])
def test_a_block_must_last_a_positive_time(kind: str, duration_s: float) -> None:
    adc = open_simulated_adc(
        kind, Sines(), seed=7, clock=VirtualClock(0.0), pin_factory=MockFactory()
    )
    try:
        with pytest.raises(ValueError, match="positive time"):
            adc.read_block(duration_s)
    finally:
        adc.close()
