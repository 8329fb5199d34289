"""The telegram codec against the manual, SPEC's format rules and dsmr_parser as the oracle."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.objects import Telegram
from dsmr_parser.parsers import TelegramParser
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.errors import TelegramError
from appliance.grid import FAILSAFE_CURRENT_A, Fault, GridReading, PhaseReading
from appliance.p1.obis import CSP1, DSMR5
from appliance.p1.telegram import (
    MAX_TELEGRAM_BYTES,
    build_telegram,
    crc16,
    dsmr_timestamp,
)
from tests.p1.helpers import DEVICE, WALL_TIME, manual_example, phase, reading

GOLDEN = Path(__file__).parent / "golden"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "p1.md"
SPECS = {
    "V5": telegram_specifications.V5,
    "BELGIUM_FLUVIUS": telegram_specifications.BELGIUM_FLUVIUS,
}

# The scenario matrix: import, export, mixed phases, zero, 40 A, missing CTs.
MISSING = PhaseReading(0.07, 3.0, 230.0, faults=frozenset({Fault.CT_MISSING}))
SCENARIOS: dict[str, GridReading] = {
    "import": reading(phase(10.0, 2300.0), phase(5.5, 1200.0), phase(16.0, 3680.0)),
    "export": reading(phase(12.3, -2829.0), phase(12.1, -2783.0), phase(11.9, -2737.0)),
    "mixed": reading(phase(8.0, 1840.0), phase(15.0, -3450.0), phase(2.25, 480.0, 231.4)),
    "zero": reading(phase(0.0, 0.0), phase(0.0, 0.0), phase(0.0, 0.0)),
    "40 A": reading(phase(40.0, 9200.0), phase(40.0, 9200.0), phase(40.0, 9200.0)),
    "missing CTs": reading(phase(6.0, 1380.0), MISSING, MISSING),
    "manual example": manual_example(),
}


def value(parsed: Telegram, name: str) -> float:
    return float(getattr(parsed, name).value)


def expected_values(r: GridReading) -> list[tuple[float, float, float]]:
    """(current, import kW, export kW) per phase as the telegram should carry them."""
    out = []
    for p in r.phases:
        if Fault.CT_MISSING in p.faults:
            out.append((0.0, 0.0, 0.0))
        else:
            out.append((p.current_a, max(p.power_w, 0) / 1000, max(-p.power_w, 0) / 1000))
    return out


def test_crc16_is_crc16_arc() -> None:
    assert crc16(b"123456789") == 0xBB3D  # the catalogue check value of CRC-16/ARC
    assert crc16(b"") == 0


def test_manual_example_reproduced_line_for_line() -> None:
    """The manual's example text with its header and a correct CRC (SPEC: not `!19D6`)."""
    telegram = build_telegram(manual_example(), DEVICE).decode("ascii")
    manual = [
        line
        for line in (GOLDEN / "manual_3_11_example.txt").read_text(encoding="ascii").splitlines()
        if not line.startswith("#")
    ]
    assert manual[-1] == "!19D6"
    expected_body = "/XMX5XMXCQA0000008879\r\n\r\n" + "\r\n".join(manual[:-1]) + "\r\n!"
    assert telegram == expected_body + "1FF6\r\n"
    assert crc16(expected_body.encode()) == 0x1FF6  # the manual's 19D6 belongs to another text


def test_docs_show_the_golden_telegram() -> None:
    golden = (GOLDEN / "csp1_manual_example.txt").read_text(encoding="ascii")
    assert golden.replace("\r\n", "\n") in DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("profile", "name"), [("csp1", "csp1_manual_example.txt"), ("dsmr5", "dsmr5_fixed.txt")]
)
def test_golden_telegram(profile: str, name: str) -> None:
    r = manual_example() if profile == "csp1" else SCENARIOS["mixed"]
    assert build_telegram(r, DEVICE, profile) == (GOLDEN / name).read_bytes()


@pytest.mark.parametrize("spec_name", SPECS)
@pytest.mark.parametrize("profile", ["csp1", "dsmr5"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_parse_with_dsmr_parser(scenario: str, profile: str, spec_name: str) -> None:
    r = SCENARIOS[scenario]
    telegram = build_telegram(r, DEVICE, profile).decode("ascii")
    parsed = TelegramParser(SPECS[spec_name], apply_checksum_validation=True).parse(telegram)
    for n, (current, imp, exp) in zip((1, 2, 3), expected_values(r), strict=True):
        assert value(parsed, f"INSTANTANEOUS_CURRENT_L{n}") == pytest.approx(current, abs=0.005)
        assert getattr(parsed, f"INSTANTANEOUS_CURRENT_L{n}").unit == "A"
        positive = getattr(parsed, f"INSTANTANEOUS_ACTIVE_POWER_L{n}_POSITIVE")
        negative = getattr(parsed, f"INSTANTANEOUS_ACTIVE_POWER_L{n}_NEGATIVE")
        assert float(positive.value) == pytest.approx(imp, abs=0.0005)
        assert float(negative.value) == pytest.approx(exp, abs=0.0005)
        assert positive.unit == "kW"
    net_kw = sum(imp - exp for _, imp, exp in expected_values(r))
    usage = value(parsed, "CURRENT_ELECTRICITY_USAGE")
    delivery = value(parsed, "CURRENT_ELECTRICITY_DELIVERY")
    assert usage == pytest.approx(max(net_kw, 0), abs=0.0015)
    assert delivery == pytest.approx(max(-net_kw, 0), abs=0.0015)
    assert min(usage, delivery) == 0
    if spec_name == "V5":
        assert parsed.P1_MESSAGE_HEADER.value == ("40" if profile == "csp1" else "50")
        expected_v = 230.0 if profile == "csp1" else r.phases[2].voltage_v
        assert parsed.INSTANTANEOUS_VOLTAGE_L3.value == Decimal(f"{expected_v:.1f}")


@pytest.mark.parametrize("profile", ["csp1", "dsmr5"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_wire_format_rules(scenario: str, profile: str) -> None:
    raw = build_telegram(SCENARIOS[scenario], DEVICE, profile)
    assert len(raw) < MAX_TELEGRAM_BYTES
    text = raw.decode("ascii")
    assert re.fullmatch(r"/XMX5XMXCQA\d{10}\r\n\r\n(?:[^\r\n]+\r\n)+![0-9A-F]{4}\r\n", text)
    assert text.count("\n") == text.count("\r\n")
    assert text.count("/") == 1  # only the header's
    values = re.findall(r"\(([^)]*)\)", text)
    assert not any(v.startswith("-") for v in values)
    assert int(text[-6:-2], 16) == crc16(raw[: raw.rindex(b"!") + 1])


def test_csp1_profile_fills_only_the_manuals_lines() -> None:
    measured = {line.obis for line in CSP1.lines if line.measured}
    assert measured == {
        "1-3:0.2.8", "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0", "1-0:1.7.0", "1-0:2.7.0",
        "1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0", "1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0",
    }  # fmt: skip
    assert [line.obis for line in DSMR5.lines] == [line.obis for line in CSP1.lines]


def test_dsmr5_timestamp_is_local_time_with_season_flag() -> None:
    assert dsmr_timestamp(WALL_TIME) == "260101010000W"  # 00:00 UTC = 01:00 CET
    assert dsmr_timestamp(1_782_900_000.0).endswith("S")  # July: summer time
    parsed = TelegramParser(telegram_specifications.V5).parse(
        build_telegram(manual_example(), DEVICE, "dsmr5").decode()
    )
    assert parsed.P1_MESSAGE_TIMESTAMP.value.timestamp() == WALL_TIME


def test_window_fault_sends_the_failsafe_telegram() -> None:
    stale = reading(
        phase(3.0, 690.0), phase(0.0, 0.0), phase(0.0, 0.0), faults=frozenset({Fault.NO_DATA})
    )
    parsed = TelegramParser(telegram_specifications.V5).parse(
        build_telegram(stale, DEVICE).decode()
    )
    for n in (1, 2, 3):
        assert value(parsed, f"INSTANTANEOUS_CURRENT_L{n}") == FAILSAFE_CURRENT_A
    assert parsed.CURRENT_ELECTRICITY_DELIVERY.value == 0


def test_out_of_range_values_are_clamped_not_signed() -> None:
    wild = reading(phase(5000.0, 2e6), phase(float("nan"), float("nan")), phase(0.0, -0.0))
    text = build_telegram(wild, DEVICE).decode()
    assert "1-0:31.7.0(999.99*A)" in text
    assert "1-0:21.7.0(99.999*kW)" in text
    assert "1-0:51.7.0(000.00*A)" in text
    assert "(-" not in text


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(TelegramError, match="10 digits"):
        build_telegram(manual_example(), "12345")
    with pytest.raises(TelegramError, match="unknown telegram profile"):
        build_telegram(manual_example(), DEVICE, "dsmr9")


currents = st.floats(0, 200, allow_nan=False)
powers = st.floats(-46_000, 46_000, allow_nan=False)


@settings(deadline=None)
@given(st.lists(st.tuples(currents, powers, st.floats(0, 260)), min_size=3, max_size=3))
def test_any_reading_gives_a_valid_telegram(values: list[tuple[float, float, float]]) -> None:
    r = reading(*(phase(i, p, u) for i, p, u in values))
    for profile in ("csp1", "dsmr5"):
        raw = build_telegram(r, DEVICE, profile)
        assert len(raw) < MAX_TELEGRAM_BYTES
        TelegramParser(telegram_specifications.V5).validate_checksum(raw.decode())
        assert "(-" not in raw.decode()
