"""MCP3208: command and answer bytes against the datasheet, and the driver through the fake."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from drivers.adc.fake_mcp3208 import FakeMcp3208
from drivers.adc.frontend import FrontEnd
from drivers.adc.mcp3208 import Mcp3208, command_bytes, decode_codes
from drivers.adc.signals import InputFaults
from drivers.errors import ChipNotFoundError
from tests.drivers.signals import Ramp, Sines, after, dc

LSB_V = 3.3 / 4096
CT_V_PER_A = 40.0 / 2000.0


def amps_for_code(code: int) -> float:
    """The DC primary current that puts a CT input exactly on `code`."""
    return (code * LSB_V - 1.65) / CT_V_PER_A


@pytest.mark.parametrize(
    ("channel", "single_ended", "expected"),
    [
        (0, True, "06 00 00"),
        (1, True, "06 40 00"),
        (3, True, "06 c0 00"),
        (4, True, "07 00 00"),
        (7, True, "07 c0 00"),
        (0, False, "04 00 00"),  # CH0+ / CH1-
        (5, False, "05 40 00"),  # CH5+ / CH4-
    ],
)
def test_command_bytes_follow_the_datasheet(
    channel: int, single_ended: bool, expected: str
) -> None:
    assert command_bytes(channel, single_ended=single_ended).hex(" ") == expected


def test_command_rejects_a_channel_the_chip_lacks() -> None:
    with pytest.raises(ValueError, match=r"out of 0\.\.7"):
        command_bytes(8)


def test_answer_decoding_masks_the_undriven_bits() -> None:
    codes, null_ok = decode_codes(bytes([0xFF, 0xEA, 0xBC, 0x00, 0x1F, 0xFF]))
    assert codes.tolist() == [0xABC, 0xFFF]
    assert null_ok.tolist() == [True, False]


def test_fake_answers_the_exact_bytes(quiet_mcp_front_end: FrontEnd) -> None:
    # 0xABC on CH1: null bit low, B11..B8 in the second byte, B7..B0 in the third.
    chip = FakeMcp3208(
        dc(0.0, (amps_for_code(0xABC), 0.0, 0.0)),
        np.random.default_rng(0),
        front_end=quiet_mcp_front_end,
    )
    assert bytes(chip.xfer2(list(command_bytes(1)))).hex(" ") == "00 0a bc"


def test_fake_answers_lsb_first_then_zeros_when_chip_select_stays_low(
    quiet_mcp_front_end: FrontEnd,
) -> None:
    """Two commands in one chip-select cycle: the chip converts once (datasheet figure 6-1)."""
    chip = FakeMcp3208(
        dc(0.0, (amps_for_code(0xABC), 0.0, 0.0)),
        np.random.default_rng(0),
        front_end=quiet_mcp_front_end,
    )
    answer = chip.xfer2(list(command_bytes(1) + command_bytes(2)))
    # After B0: B1..B8 = 0 1 1 1 1 0 1 0, then B9 B10 B11 = 1 0 1, then zeros.
    assert bytes(answer).hex(" ") == "00 0a bc 7a a0 00"


def test_fake_answers_a_late_start_bit_with_the_same_timing() -> None:
    """A start bit one bit later shifts the whole answer one bit right, as on the chip."""
    chip = FakeMcp3208(dc(0.0, (amps_for_code(0xABC), 0.0, 0.0)), np.random.default_rng(0))
    shifted = int.from_bytes(command_bytes(1), "big") >> 1
    answer = int.from_bytes(bytes(chip.xfer2(list(shifted.to_bytes(3, "big") + b"\0"))), "big")
    assert (answer >> 7) & 0xFFF in range(0xABC - 2, 0xABC + 3)


def test_driver_reads_dc_codes(quiet_mcp_front_end: FrontEnd) -> None:
    chip = FakeMcp3208(
        dc(0.0, (amps_for_code(1000), amps_for_code(2048), amps_for_code(3000))),
        np.random.default_rng(0),
        front_end=quiet_mcp_front_end,
    )
    adc = Mcp3208(chip, chip.clock.monotonic)
    try:
        block = adc.read_block(0.1)
    finally:
        adc.close()
    assert block.roles == ("voltage", "ct1", "ct2", "ct3")
    assert {tuple(np.unique(row)) for row in block.codes[1:]} == {(1000,), (2048,), (3000,)}
    assert np.all(np.abs(block.codes[0] - 2048) <= 1)  # 0 V mains: the bias, to within a code
    assert block.volts_per_code == pytest.approx(LSB_V)
    assert (block.code_min, block.code_max) == (0, 4095)


def test_driver_reads_a_sine_in_volts() -> None:
    chip = FakeMcp3208(Sines(), np.random.default_rng(1))
    adc = Mcp3208(chip, chip.clock.monotonic)
    try:
        block = adc.read_block(1.0)
    finally:
        adc.close()
    pin = block.codes * block.volts_per_code
    rms = np.sqrt(np.mean((pin - pin.mean(axis=1, keepdims=True)) ** 2, axis=1))
    expected = [230 * 0.8 / 230, 10 * CT_V_PER_A, 20 * CT_V_PER_A, 30 * CT_V_PER_A]
    np.testing.assert_allclose(rms, expected, rtol=2e-3)
    assert adc.nominal_rate_hz == pytest.approx(block.sample_count, rel=1e-3)


def test_blocks_are_gap_free_and_timestamps_monotonic() -> None:
    chip = FakeMcp3208(Sines(), np.random.default_rng(2))
    adc = Mcp3208(chip, chip.clock.monotonic)
    try:
        first, second = adc.read_block(0.25), adc.read_block(0.25)
    finally:
        adc.close()
    times = np.concatenate([first.times_s, second.times_s], axis=1)
    conversion_order = times.T.ravel()  # voltage, ct1, ct2, ct3, voltage, ...
    steps = np.diff(conversion_order)
    assert np.all(steps > 0)
    # Gap-free: no step between blocks longer than the longest step inside one message.
    assert steps.max() < 1.1 * np.median(steps) + 25e-6
    assert first.times_s[0, -1] < first.times_s[0, 0] + 0.25 <= second.times_s[0, 0]


def test_timestamps_are_the_conversion_instants() -> None:
    """Without spidev overhead the interpolated instants are exact: sample k of a message is
    taken 11 bit times into its frame, frames one after another at the SPI clock."""
    chip = FakeMcp3208(Sines(), np.random.default_rng(3), message_overhead_s=0.0, cs_gap_s=0.0)
    adc = Mcp3208(chip, chip.clock.monotonic)
    try:
        block = adc.read_block(0.05)
    finally:
        adc.close()
    bit_s = 1 / 2_000_000
    conversion = np.arange(block.sample_count * 4) + 127 * 4  # after the first (check) message
    expected = 1000.0 + conversion * 24 * bit_s + 11 * bit_s
    np.testing.assert_allclose(block.times_s.T.ravel(), expected, rtol=0, atol=1e-9)


def test_timestamps_match_a_ramp_read_through_the_front_end(quiet_mcp_front_end: FrontEnd) -> None:
    """An independent look: a voltage ramp turns each code back into the time it was taken."""
    volts_per_s = 1000.0  # pin: 0.8/230 V per mains volt, so 3.48 V/s: ~4.2 codes per ms
    start = 1000.0
    front_end = dataclasses.replace(quiet_mcp_front_end, bias_v=0.2)
    chip = FakeMcp3208(
        Ramp(volts_per_s, origin_s=start), np.random.default_rng(0), front_end=front_end
    )
    adc = Mcp3208(chip, chip.clock.monotonic)
    try:
        block = adc.read_block(0.2)
    finally:
        adc.close()
    pin_per_s = volts_per_s * front_end.volts_per_line_volt
    code_time = start + (block.codes[0] * LSB_V - 0.2) / pin_per_s + front_end.filter_tau_s
    error = code_time - block.times_s[0]
    # One code is 0.24 ms of ramp; the stamps may be off by at most one spidev overhead.
    assert np.abs(error).max() < LSB_V / pin_per_s / 2 + 30e-6


def test_unplugged_ct_reads_zero_far_from_the_bias() -> None:
    signals = Sines(fault_schedule=after(0.0, InputFaults(ct_unplugged=(False, True, False))))
    chip = FakeMcp3208(signals, np.random.default_rng(4))
    adc = Mcp3208(chip, chip.clock.monotonic)
    try:
        block = adc.read_block(0.2)
    finally:
        adc.close()
    assert block.codes[2].max() <= 2  # the jack switch grounds the input: 0 V plus noise
    assert abs(block.codes[1].mean() - 2048) < 5
    assert block.codes[1].std() > 100


def test_dead_chip_is_not_found() -> None:
    signals = Sines(fault_schedule=after(0.0, InputFaults(chip_dead=True)))
    chip = FakeMcp3208(signals, np.random.default_rng(5))
    with pytest.raises(ChipNotFoundError):
        Mcp3208(chip, chip.clock.monotonic)


def test_roles_follow_the_channel_map(quiet_mcp_front_end: FrontEnd) -> None:
    chip = FakeMcp3208(
        dc(0.0, (amps_for_code(1000), 0.0, amps_for_code(3000))),
        np.random.default_rng(0),
        front_end=quiet_mcp_front_end,
        wiring={5: "ct1", 6: "ct3", 7: "voltage"},
    )
    adc = Mcp3208(chip, chip.clock.monotonic, channels={"ct3": 6, "ct1": 5})
    try:
        block = adc.read_block(0.01)
    finally:
        adc.close()
    assert block.roles == ("ct3", "ct1")
    assert set(block.codes[0]) == {3000}
    assert set(block.codes[1]) == {1000}


def test_two_roles_on_one_channel_are_refused() -> None:
    chip = FakeMcp3208(Sines(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="share"):
        Mcp3208(chip, chip.clock.monotonic, channels={"voltage": 0, "ct1": 0})


def test_a_block_advances_virtual_time_by_its_length() -> None:
    """Virtual time: the fake clock moves by the bus time of the block (speed is in bench/)."""
    chip = FakeMcp3208(Sines(), np.random.default_rng(6))
    adc = Mcp3208(chip, chip.clock.monotonic)
    try:
        before = chip.clock.monotonic()
        adc.read_block(1.0)
        assert math.isclose(chip.clock.monotonic() - before, 1.0, abs_tol=0.3)
    finally:
        adc.close()
