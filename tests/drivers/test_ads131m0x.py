"""ADS131M0x: frames, commands and CRC against the datasheet; the driver through the fake chip."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from drivers.adc.ads131m0x import (
    NULL,
    REG_CLOCK,
    REG_GAIN1,
    REG_ID,
    REG_MODE,
    REG_STATUS,
    RESET,
    Ads131m0x,
    GpioDataReady,
    channel_codes,
    channel_config_address,
    command_frame,
    frame_crc_ok,
    reset_response,
    response_word,
    rreg,
    wreg,
    wreg_ack,
)
from drivers.adc.crc import crc16_ccitt, crc16_ccitt_rows
from drivers.adc.fake_ads131m0x import FakeAds131m0x, SimulatedDataReady
from drivers.adc.frontend import FrontEnd, ads131m0x_front_end
from drivers.adc.signals import InputFaults, PrimarySignals
from drivers.errors import BusError, ChipNotFoundError, DataReadyTimeoutError
from tests.drivers.signals import Ramp, Sines, after, dc

DRDY_PIN = 6
PERIOD_S = 1024 / 4_096_000  # OSR 1024 at fMOD 4.096 MHz


def crc_bitwise(data: bytes) -> int:
    """CRC-16-CCITT one bit at a time, straight from the polynomial (the test's own oracle)."""
    crc = 0xFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            feedback = ((crc >> 15) & 1) ^ ((byte >> bit) & 1)
            crc = (crc << 1) & 0xFFFF
            if feedback:
                crc ^= 0x1021
    return crc


class Rig:
    """Fake chip, mock DRDY pin and the driver's gpiozero device, wired as `open_simulated_adc`."""

    def __init__(self, signals: PrimarySignals, seed: int = 0, **chip_options: object) -> None:
        self.factory = MockFactory()
        self.chip = FakeAds131m0x(signals, np.random.default_rng(seed), **chip_options)  # type: ignore[arg-type]
        self.chip.attach_drdy_pin(self.factory.pin(DRDY_PIN))
        self.gpio = GpioDataReady.on_pin(DRDY_PIN, self.factory)
        self.data_ready = SimulatedDataReady(self.chip, self.gpio)
        self.sent: list[bytes] = []
        real_xfer2 = self.chip.xfer2

        def logged(values: Sequence[int]) -> list[int]:
            self.sent.append(bytes(values))
            return real_xfer2(values)

        self.chip.xfer2 = logged  # type: ignore[method-assign]

    def driver(self, **options: object) -> Ads131m0x:
        return Ads131m0x(self.chip, self.data_ready, self.chip.clock.monotonic, **options)  # type: ignore[arg-type]


@pytest.fixture
def opened() -> Iterator[list[Ads131m0x]]:
    drivers: list[Ads131m0x] = []
    yield drivers
    for driver in drivers:
        driver.close()


# -- golden bytes ------------------------------------------------------------------------------
def test_crc_is_crc16_ccitt_false() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1  # the catalogued check value
    data = bytes(range(40))
    assert crc16_ccitt(data) == crc_bitwise(data)
    rows = np.frombuffer(bytes(range(60)), dtype=np.uint8).reshape(4, 15)
    assert crc16_ccitt_rows(rows).tolist() == [crc_bitwise(bytes(row)) for row in rows]


def test_command_words_follow_the_datasheet() -> None:
    assert (NULL, RESET) == (0x0000, 0x0011)
    assert rreg(REG_ID) == 0xA000
    assert rreg(REG_CLOCK) == 0xA180  # 101a aaaa annn nnnn, a = 3
    assert wreg(REG_MODE) == 0x6100  # 011a aaaa annn nnnn, a = 2
    assert wreg(REG_GAIN1, 2) == 0x6201
    assert wreg_ack(REG_MODE) == 0x4100
    assert reset_response(4) == 0xFF24
    assert reset_response(8) == 0xFF28
    assert [channel_config_address(ch) for ch in range(4)] == [0x09, 0x0E, 0x13, 0x18]


def test_input_frames_are_exact() -> None:
    # M04: 6 words of 3 bytes; the command, its CRC over the words before it, then zeros.
    assert command_frame(RESET, channels=4).hex(" ") == "00 11 00 fc de 00" + " 00" * 12
    assert command_frame(NULL, channels=4).hex(" ") == "00 00 00 cc 9c 00" + " 00" * 12
    assert (
        command_frame(wreg(REG_MODE), [0x1110], channels=4).hex(" ")
        == "61 00 00 11 10 00 63 88 00" + " 00" * 9
    )
    assert crc_bitwise(bytes.fromhex("001100")) == 0xFCDE
    assert crc_bitwise(bytes.fromhex("610000111000")) == 0x6388


def test_output_frame_with_a_known_crc() -> None:
    # STATUS 0x050F (24-bit words, new data on all four channels) and four results.
    body = bytes.fromhex("050f007fffff800000000001fffffe")
    crc = crc_bitwise(body)
    frame = body + crc.to_bytes(2, "big") + b"\0"
    assert crc == crc16_ccitt(body)
    assert frame_crc_ok(frame, 6)
    assert response_word(frame) == 0x050F
    assert channel_codes(frame, 4) == [8388607, -8388608, 1, -2]
    corrupted = bytearray(frame)
    corrupted[7] ^= 0x10
    assert not frame_crc_ok(bytes(corrupted), 6)


def test_fake_answers_reset_then_acknowledges_a_write() -> None:
    chip = FakeAds131m0x(Sines(), np.random.default_rng(0))
    chip.xfer2(list(command_frame(RESET, channels=4)))
    answer = bytes(chip.xfer2(list(command_frame(wreg(REG_GAIN1), [0x0010], channels=4))))
    assert answer[:3].hex() == "ff2400"
    assert frame_crc_ok(answer, 6)
    answer = bytes(chip.xfer2(list(command_frame(rreg(REG_GAIN1), channels=4))))
    assert response_word(answer) == wreg_ack(REG_GAIN1)
    answer = bytes(chip.xfer2(list(command_frame(NULL, channels=4))))
    assert response_word(answer) == 0x0010


def test_fake_ignores_a_command_with_a_bad_input_crc() -> None:
    chip = FakeAds131m0x(Sines(), np.random.default_rng(0))
    chip.xfer2(list(command_frame(wreg(REG_MODE), [0x1110], channels=4)))  # RX_CRC_EN on
    bad = bytearray(command_frame(wreg(REG_GAIN1), [0x0077], channels=4))
    bad[6] ^= 0x01  # the CRC word
    chip.xfer2(list(bad))
    status = response_word(bytes(chip.xfer2(list(command_frame(rreg(REG_STATUS), channels=4)))))
    assert status & (1 << 12)  # CRC_ERR
    chip.xfer2(list(command_frame(rreg(REG_GAIN1), channels=4)))
    gain = response_word(bytes(chip.xfer2(list(command_frame(NULL, channels=4)))))
    assert gain == 0x0000


# -- the driver ----------------------------------------------------------------------------------
def test_handshake_sends_the_documented_sequence(opened: list[Ads131m0x]) -> None:
    rig = Rig(Sines())
    opened.append(rig.driver(osr=2048, phase_delays=(0, 5, -3, 0)))
    commands = [int.from_bytes(frame[:2], "big") for frame in rig.sent]
    written = {
        int.from_bytes(frame[:2], "big"): int.from_bytes(frame[3:5], "big")
        for frame in rig.sent
        if frame[0] >> 5 == 0b011
    }
    assert commands[:4] == [RESET, NULL, rreg(REG_ID), NULL]
    assert written == {
        wreg(REG_MODE): 0x1110,  # RX_CRC_EN, 24-bit words, SPI timeout; RESET flag cleared
        wreg(REG_CLOCK): 0x0F12,  # all four channels, OSR 2048, high resolution
        wreg(REG_GAIN1): 0x0000,
        wreg(0x09): 0x0000,
        wreg(0x0E): 5 << 6,
        wreg(0x13): (-3 & 0x3FF) << 6,
        wreg(0x18): 0x0000,
    }
    for frame in rig.sent:  # every input frame carries the CRC of its words right after them
        command = int.from_bytes(frame[:2], "big")
        crc_at = 3 * (2 if command >> 13 == 0b011 else 1)
        assert crc_bitwise(frame[:crc_at]) == int.from_bytes(frame[crc_at : crc_at + 2], "big")
        assert len(frame) == 18


def test_wrong_family_member_is_not_found() -> None:
    rig = Rig(Sines(), channels=4)
    with pytest.raises(ChipNotFoundError, match="0xFF24"):
        rig.driver(channels=8)


def test_dead_chip_is_not_found() -> None:
    rig = Rig(Sines(fault_schedule=after(0.0, InputFaults(chip_dead=True))))
    with pytest.raises(ChipNotFoundError):
        rig.driver()


def test_bus_error_becomes_bus_error() -> None:
    rig = Rig(Sines())

    def broken(values: Sequence[int]) -> list[int]:
        raise OSError(5, "Input/output error")

    rig.chip.xfer2 = broken  # type: ignore[method-assign]
    with pytest.raises(BusError, match="Input/output error"):
        rig.driver()


def test_driver_reads_dc_codes(quiet_ads_front_end: FrontEnd, opened: list[Ads131m0x]) -> None:
    rig = Rig(dc(100.0, (10.0, -20.0, 0.0)), front_end=quiet_ads_front_end)
    adc = rig.driver()
    opened.append(adc)
    block = adc.read_block(0.1)
    assert block.sample_count == 400
    volts = np.array([100 * 0.6 / 230, 10 * 0.02, -20 * 0.02, 0.0])
    expected = np.round(volts / 1.2 * 2**23)
    for row, code in enumerate(expected):
        assert set(block.codes[row]) == {int(code)}
    assert block.volts_per_code == pytest.approx(1.2 / 2**23)
    assert (block.crc_errors, block.missed_frames) == (0, 0)


def test_driver_reads_a_sine_through_the_sinc3_filter(opened: list[Ads131m0x]) -> None:
    rig = Rig(Sines(), seed=1)
    adc = rig.driver()
    opened.append(adc)
    block = adc.read_block(1.0)
    assert block.sample_count == 4000
    rms = np.sqrt(np.mean((block.codes * block.volts_per_code) ** 2, axis=1))
    x = 50 / 4000  # the sinc3 response at 50 Hz, OSR 1024
    sinc3 = (math.sin(math.pi * x) / (1024 * math.sin(math.pi * x / 1024))) ** 3
    expected = np.array([0.6, 0.2, 0.4, 0.6]) * sinc3
    np.testing.assert_allclose(rms, expected, rtol=1e-4)


def test_timestamps_are_regular_and_match_a_ramp(
    quiet_ads_front_end: FrontEnd, opened: list[Ads131m0x]
) -> None:
    """The sinc3 average of a ramp is its value at the filter's centre: the sample's instant."""
    volts_per_s = 2000.0
    rig = Rig(Ramp(volts_per_s, origin_s=1000.0), front_end=quiet_ads_front_end)
    adc = rig.driver()
    opened.append(adc)
    block = adc.read_block(0.2)
    times = block.times_s[0]
    np.testing.assert_allclose(np.diff(times), PERIOD_S, rtol=1e-9)
    pin_per_s = volts_per_s * 0.6 / 230
    code_time = 1000.0 + block.codes[0] * block.volts_per_code / pin_per_s
    code_time += quiet_ads_front_end.filter_tau_s  # the RC delays the ramp by its time constant
    resolution = block.volts_per_code / pin_per_s
    assert np.abs(code_time - times).max() < resolution + 1e-7


def test_phase_delay_moves_the_channel_and_its_timestamps(
    quiet_ads_front_end: FrontEnd, opened: list[Ads131m0x]
) -> None:
    rig = Rig(Ramp(2000.0, origin_s=1000.0), front_end=quiet_ads_front_end)
    rig_wiring = dict.fromkeys(range(4), "voltage")
    rig.chip = FakeAds131m0x(
        Ramp(2000.0, origin_s=1000.0),
        np.random.default_rng(0),
        wiring=rig_wiring,
        front_end=quiet_ads_front_end,
    )
    rig.chip.attach_drdy_pin(rig.factory.pin(DRDY_PIN))
    rig.data_ready = SimulatedDataReady(rig.chip, rig.gpio)
    adc = rig.driver(phase_delays=(0, 100, 0, 0))
    opened.append(adc)
    block = adc.read_block(0.05)
    shift = 100 / 4_096_000
    np.testing.assert_allclose(block.times_s[1] - block.times_s[0], shift, atol=1e-12)
    pin_per_s = 2000.0 * 0.6 / 230
    code_shift = (block.codes[1] - block.codes[0]) * block.volts_per_code / pin_per_s
    np.testing.assert_allclose(code_shift, shift, atol=2 * block.volts_per_code / pin_per_s)


def test_bit_flips_on_miso_are_caught_and_counted(
    quiet_ads_front_end: FrontEnd, opened: list[Ads131m0x]
) -> None:
    faults = InputFaults(miso_bit_error_rate=2e-3)
    rig = Rig(
        dc(100.0, (10.0, -20.0, 5.0), fault_schedule=after(1000.1, faults)),
        front_end=quiet_ads_front_end,
    )
    adc = rig.driver()
    opened.append(adc)
    block = adc.read_block(1.0)
    assert block.crc_errors > 100  # 144 bits per frame: about a quarter of the frames hit
    # Not one corrupted result got through: every delivered code is the true DC code.
    for row in range(4):
        assert len(set(block.codes[row])) == 1
    assert block.sample_count + block.crc_errors + block.missed_frames == 4000


def test_missed_frames_are_counted_when_the_reader_is_slowed(opened: list[Ads131m0x]) -> None:
    rig = Rig(Sines())

    class SlowHost:
        """Every 500th wait, the host is busy for 10.2 periods first (a GC pause, say)."""

        def __init__(self) -> None:
            self.waits = 0

        def wait(self, timeout_s: float) -> bool:
            self.waits += 1
            if self.waits % 500 == 0:
                rig.chip.clock.advance(10.2 * PERIOD_S)
            return rig.data_ready.wait(timeout_s)

        def close(self) -> None:
            rig.data_ready.close()

    adc = Ads131m0x(rig.chip, SlowHost(), rig.chip.clock.monotonic)
    opened.append(adc)
    block = adc.read_block(1.0)
    stalls = 8  # 4000 frames, one stall per 500 waits
    assert block.missed_frames == pytest.approx(9 * stalls, abs=9)
    assert block.sample_count + block.missed_frames == 4000
    gaps = np.diff(block.times_s[0]) / PERIOD_S
    assert np.all(np.isclose(gaps, np.round(gaps)))
    assert gaps.max() == pytest.approx(10)


def test_dropped_drdy_edges_are_counted(opened: list[Ads131m0x]) -> None:
    faults = InputFaults(drop_drdy=True)
    rig = Rig(Sines(fault_schedule=lambda t: faults if 1000.2 <= t < 1000.3 else InputFaults()))
    adc = rig.driver()
    opened.append(adc)
    block = adc.read_block(1.0)
    assert 150 <= block.missed_frames <= 250  # every other frame lost for 0.1 s (400 frames)
    assert block.sample_count + block.missed_frames == 4000


def test_unplugged_ct_sits_at_its_switch_level(opened: list[Ads131m0x]) -> None:
    signals = Sines(fault_schedule=after(0.0, InputFaults(ct_unplugged=(True, False, False))))
    rig = Rig(signals)
    adc = rig.driver()
    opened.append(adc)
    block = adc.read_block(0.2)
    ct1_volts = block.codes[1] * block.volts_per_code
    assert ct1_volts.mean() == pytest.approx(ads131m0x_front_end().unplugged_v, abs=1e-3)
    assert ct1_volts.std() < 1e-4


def test_chip_dying_mid_run_shows_as_crc_errors(opened: list[Ads131m0x]) -> None:
    rig = Rig(Sines(fault_schedule=after(1000.5, InputFaults(chip_dead=True))))
    adc = rig.driver()
    opened.append(adc)
    block = adc.read_block(1.0)
    assert block.crc_errors >= 1900
    assert block.sample_count <= 2100


def test_no_drdy_raises_a_timeout(opened: list[Ads131m0x]) -> None:
    rig = Rig(Sines())

    class SilentLine:
        def wait(self, timeout_s: float) -> bool:
            rig.chip.clock.advance(timeout_s)
            return False

        def close(self) -> None:
            rig.gpio.close()

    adc = Ads131m0x(rig.chip, SilentLine(), rig.chip.clock.monotonic)
    opened.append(adc)
    with pytest.raises(DataReadyTimeoutError):
        adc.read_block(1.0)


def test_drdy_runs_through_the_gpiozero_pin(opened: list[Ads131m0x]) -> None:
    rig = Rig(Sines())
    adc = rig.driver()
    opened.append(adc)
    pin = rig.factory.pin(DRDY_PIN)
    rig.chip.run_until_data_ready(1.0)
    assert pin.state is False  # active low: a result is waiting
    rig.chip.xfer2(list(command_frame(NULL, channels=4)))
    assert pin.state is True  # read: DRDY released


@pytest.mark.parametrize("channels", [2, 3, 6, 8])
def test_every_family_member_works(channels: int, opened: list[Ads131m0x]) -> None:
    wiring = {0: "voltage", 1: "ct1"}
    rig = Rig(Sines(), channels=channels, wiring=wiring)
    adc = rig.driver(channels=channels, roles={"voltage": 0, "ct1": 1})
    opened.append(adc)
    block = adc.read_block(0.1)
    assert block.sample_count == 400
    assert block.crc_errors == 0
    rms = np.sqrt(np.mean((block.codes * block.volts_per_code) ** 2, axis=1))
    np.testing.assert_allclose(rms, [0.6, 0.2], rtol=2e-3)


def test_gain_scales_codes_and_volts_per_code(
    quiet_ads_front_end: FrontEnd, opened: list[Ads131m0x]
) -> None:
    rig = Rig(dc(100.0, (1.0, 1.0, 1.0)), front_end=quiet_ads_front_end)
    adc = rig.driver(gains=(4, 4, 4, 4))
    opened.append(adc)
    block = adc.read_block(0.01)
    assert block.volts_per_code == pytest.approx(1.2 / 4 / 2**23)
    np.testing.assert_allclose(block.codes[1] * block.volts_per_code, 0.02, rtol=1e-5)


def test_bad_configuration_is_refused() -> None:
    rig = Rig(Sines())
    with pytest.raises(ValueError, match="OSR"):
        rig.driver(osr=1000)
    with pytest.raises(ValueError, match="phase"):
        rig.driver(phase_delays=(0, 600, 0, 0))
    with pytest.raises(ValueError, match="one scale"):
        rig.driver(gains=(1, 2, 1, 1))


def test_drdy_stuck_active_without_new_data_raises(opened: list[Ads131m0x]) -> None:
    """A DRDY line stuck low while the chip stopped converting must not spin forever."""
    rig = Rig(Sines())

    class StuckLine:
        def wait(self, timeout_s: float) -> bool:
            return True

        def close(self) -> None:
            rig.gpio.close()

    adc = Ads131m0x(rig.chip, StuckLine(), rig.chip.clock.monotonic)
    opened.append(adc)
    rig.chip.xfer2(list(command_frame(wreg(REG_CLOCK), [0x000E], channels=4)))  # all channels off
    with pytest.raises(DataReadyTimeoutError, match="no new data"):
        adc.read_block(1.0)


def test_consecutive_blocks_join_without_a_gap(opened: list[Ads131m0x]) -> None:
    rig = Rig(Sines())
    adc = rig.driver()
    opened.append(adc)
    blocks = [adc.read_block(0.3) for _ in range(3)]
    times = np.concatenate([block.times_s[0] for block in blocks])
    np.testing.assert_allclose(np.diff(times), PERIOD_S, rtol=1e-9)
    assert [block.sample_count for block in blocks] == [1200, 1200, 1200]
    # The reader thread stays close behind the caller: at most its lead beyond the last block.
    assert rig.chip.clock.monotonic() < times[-1] + 0.25 + 0.02
