"""P1 input decoding: the three flavours, signed currents, and every kind of bad input."""

from __future__ import annotations

import math
import random
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.errors import ConfigurationError
from appliance.grid import Direction, GridReading, Source
from appliance.p1.reader import MAX_TELEGRAM_BYTES, P1Decoder, Rejection
from appliance.p1.source import parse_source
from appliance.p1.telegram import build_telegram
from drivers.p1.port import LINE_DSMR5, LINE_DSMR22, line_for_baudrate
from tests.p1.helpers import DEVICE, belgian_fluvius, dutch_dsmr5, phase, reading, with_crc


def decode_one(telegram: bytes) -> GridReading:
    decoder = P1Decoder()
    readings = decoder.feed(telegram, received_monotonic=50.0, wall_time=1.0)
    assert decoder.stats.rejected_total == 0, decoder.stats
    assert len(readings) == 1
    return readings[0]


def signed(r: GridReading) -> list[float]:
    return [round(p.signed_current_a, 2) for p in r.phases]


def test_dutch_dsmr5_signed_currents_from_power_and_voltage() -> None:
    # L1 imports 1.155 kW at 231 V, L2 exports 0.696 kW at 232 V, L3 idle.
    r = decode_one(dutch_dsmr5((5, 3, 0), (1.155, 0.0, 0.0), (0.0, 0.696, 0.0)))
    assert signed(r) == [5.0, -3.0, 0.0]
    assert r.source is Source.P1
    assert r.monotonic_s == 50.0  # the age counts from receipt
    assert r.phases[0].voltage_v == 231.0
    assert r.import_energy_kwh == pytest.approx(2130.115 + 995.226)


def test_dutch_integer_current_below_one_ampere_comes_from_power() -> None:
    r = decode_one(dutch_dsmr5((0, 0, 0), (0.0, 0.0, 0.0), (0.184, 0.0, 0.0), (230.0,) * 3))
    assert signed(r) == [-0.8, 0.0, 0.0]


def test_belgian_fluvius_decimal_currents() -> None:
    r = decode_one(belgian_fluvius((7.31, 2.05, 0.0), (0.0, 0.47, 0.0), (1.70, 0.0, 0.0)))
    # |P|/U for L1 is 1.70 kW / 234.7 V = 7.24 A; the meter's RMS current 7.31 A is larger.
    assert signed(r) == [-7.31, 2.05, 0.0]
    assert r.phases[0].direction is Direction.EXPORT


def test_csp1_source_reads_our_own_output() -> None:
    own = reading(phase(24.56, 5520.0), phase(12.0, -2760.0), phase(0.0, 0.0))
    for profile in ("csp1", "dsmr5"):
        r = decode_one(build_telegram(own, DEVICE, profile))
        assert signed(r) == [24.56, -12.0, 0.0]


def test_current_only_meter_takes_the_direction_of_the_total_power() -> None:
    telegram = with_crc(
        [
            "/XYZ5METER",
            "",
            "1-3:0.2.8(50)",
            "1-0:1.7.0(00.000*kW)",
            "1-0:2.7.0(02.300*kW)",
            "1-0:31.7.0(010*A)",
        ]
    )
    r = decode_one(telegram)
    assert signed(r) == [-10.0, 0.0, 0.0]
    assert r.phase_count == 1


GOOD = dutch_dsmr5((5, 3, 0), (1.155, 0.0, 0.0), (0.0, 0.696, 0.0))


def corrupt_crc(t: bytes) -> bytes:
    crc = t[-6:-2]
    return t[:-6] + (b"0000" if crc != b"0000" else b"1111") + b"\r\n"


BAD_INPUTS: dict[str, tuple[bytes, Rejection]] = {
    "bad crc": (corrupt_crc(GOOD), Rejection.BAD_CRC),
    "flipped value": (GOOD.replace(b"1-0:31.7.0(005*A)", b"1-0:31.7.0(006*A)"), Rejection.BAD_CRC),
    "lowercase crc": (GOOD[:-6] + GOOD[-6:-2].lower() + b"\r\n", Rejection.MALFORMED_CRC),
    "lf only": (GOOD.replace(b"\r\n", b"\n"), Rejection.LF_ONLY),
    "truncated": (GOOD[:400] + GOOD, Rejection.TRUNCATED),
    "no crc": (GOOD[:-6] + b"\r\n", Rejection.MALFORMED_CRC),
    "not ascii": (GOOD.replace(b"ISK5", b"IS\xff5"), Rejection.NOT_ASCII),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_telegrams_are_rejected_and_counted(case: str) -> None:
    data, reason = BAD_INPUTS[case]
    decoder = P1Decoder()
    readings = decoder.feed(data, 0.0, 0.0)
    assert decoder.stats.rejected[reason] == 1
    # Only the intact telegram that follows a truncated one gets through.
    assert len(readings) == (1 if case == "truncated" else 0)
    # The decoder recovers: the next good telegram is accepted.
    assert len(decoder.feed(GOOD, 0.0, 0.0)) == 1


def test_random_bytes_never_crash_and_never_grow_memory() -> None:
    rng = random.Random(7)
    decoder = P1Decoder()
    for _ in range(500):
        chunk = rng.randbytes(rng.randint(1, 2048))
        for reading_ in decoder.feed(chunk, 0.0, 0.0):
            pytest.fail(f"random bytes gave a reading: {reading_}")
        assert decoder.buffered <= MAX_TELEGRAM_BYTES + 2048
    assert decoder.stats.accepted == 0
    assert decoder.stats.garbage_bytes > 0
    assert len(decoder.feed(GOOD, 0.0, 0.0)) == 1


def test_endless_line_without_end_mark_is_bounded() -> None:
    decoder = P1Decoder()
    line = b"1-0:1.8.1(000000.000*kWh)\r\n" * 40
    tracemalloc.start()
    try:
        decoder.feed(b"/XMX5XMXCQA0000008879\r\n\r\n", 0.0, 0.0)
        for _ in range(10_000):  # ~10 MB without a '!'
            decoder.feed(line, 0.0, 0.0)
            assert decoder.buffered <= MAX_TELEGRAM_BYTES + len(line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024
    assert decoder.stats.rejected[Rejection.TOO_LONG] >= 1
    assert len(decoder.feed(GOOD, 0.0, 0.0)) == 1


def test_dsmr22_without_crc_only_when_allowed() -> None:
    old = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.7.0(0001.19*kW)\r\n1-0:2.7.0(0000.00*kW)\r\n!\r\n"
    strict = P1Decoder()
    assert strict.feed(old, 0.0, 0.0) == []
    assert strict.stats.rejected[Rejection.MALFORMED_CRC] == 1
    lenient = P1Decoder(require_crc=False)
    assert lenient.feed(old, 0.0, 0.0) == []  # DSMR 2.2 has no per-phase lines
    assert lenient.stats.rejected[Rejection.NO_PHASE_DATA] == 1


def test_byte_by_byte_delivery() -> None:
    decoder = P1Decoder()
    readings = []
    for byte in GOOD + GOOD:
        readings += decoder.feed(bytes([byte]), 0.0, 0.0)
    assert len(readings) == 2


def test_crc_valid_nonsense_values_are_rejected_not_raised() -> None:
    telegram = with_crc(["/XYZ5METER", "", "1-3:0.2.8(50)", "1-0:31.7.0(0.0.1*A)"])
    decoder = P1Decoder()
    assert decoder.feed(telegram, 0.0, 0.0) == []
    assert decoder.stats.rejected[Rejection.UNPARSABLE] == 1


VALUE_CHARS = st.text(alphabet="0123456789.*-:ABCDEFkWhAV", max_size=12)
OBIS = st.sampled_from(
    ["1-0:31.7.0", "1-0:21.7.0", "1-0:22.7.0", "1-0:32.7.0", "1-0:1.7.0", "1-0:2.7.0",
     "0-0:96.1.4", "1-3:0.2.8", "0-0:1.0.0", "1-0:99.97.0", "0-1:24.2.1", "1-0:1.6.0"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(OBIS, st.lists(VALUE_CHARS, min_size=1, max_size=4)), max_size=12))
def test_any_crc_valid_telegram_gives_a_reading_or_a_counted_rejection(
    lines: list[tuple[str, list[str]]],
) -> None:
    body = [obis + "".join(f"({v})" for v in values) for obis, values in lines]
    decoder = P1Decoder()
    readings = decoder.feed(with_crc(["/XYZ5METER", "", *body]), 0.0, 0.0)
    assert len(readings) + decoder.stats.rejected_total == 1
    for r in readings:
        assert all(p.current_a >= 0 and math.isfinite(p.power_w) for p in r.phases)


def test_negative_values_are_rejected() -> None:
    telegram = with_crc(["/XYZ5METER", "", "1-3:0.2.8(50)", "1-0:31.7.0(-005*A)"])
    decoder = P1Decoder()
    assert decoder.feed(telegram, 0.0, 0.0) == []
    assert decoder.stats.rejected[Rejection.UNPARSABLE] == 1


def test_sources() -> None:
    dsmr22 = parse_source("/dev/ttyUSB0", 9600)
    assert not dsmr22.requires_crc
    assert line_for_baudrate(dsmr22.baudrate) == LINE_DSMR22  # 9600 7E1
    assert line_for_baudrate(115200) == LINE_DSMR5  # 115200 8N1
    dongle = parse_source("tcp://192.168.1.20:8088")
    assert (dongle.host, dongle.port, dongle.requires_crc) == ("192.168.1.20", 8088, True)
    for bad in ("tcp://host", "tcp://:80", "COM3", "tcp://h:99999"):
        with pytest.raises(ConfigurationError):
            parse_source(bad)
