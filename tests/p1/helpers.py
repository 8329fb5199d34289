"""Readings and meter telegrams for the P1 tests."""

from __future__ import annotations

from dsmr_parser.parsers import TelegramParser

from appliance.grid import Direction, Fault, GridReading, PhaseReading, Source

DEVICE = "0000008879"
WALL_TIME = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def phase(current_a: float, power_w: float, voltage_v: float = 230.0) -> PhaseReading:
    if power_w > 0:
        direction = Direction.IMPORT
    elif power_w < 0:
        direction = Direction.EXPORT
    else:
        direction = Direction.NONE
    apparent = current_a * voltage_v
    pf = min(abs(power_w) / apparent, 1.0) if apparent else 0.0
    return PhaseReading(current_a, power_w, voltage_v, pf, direction)


def reading(
    *phases: PhaseReading, faults: frozenset[Fault] = frozenset(), monotonic_s: float = 100.0
) -> GridReading:
    assert len(phases) == 3
    return GridReading(
        monotonic_s=monotonic_s,
        wall_time_s=WALL_TIME,
        source=Source.CT,
        phases=(phases[0], phases[1], phases[2]),
        faults=faults,
    )


def manual_example() -> GridReading:
    """The CSP1+ manual's example (3.11): 24.56 A and 5.520 kW import on each phase."""
    p = phase(24.56, 5520.0)
    return reading(p, p, p)


def with_crc(lines: list[str]) -> bytes:
    """A telegram from its lines (header first), with the CRC computed by dsmr_parser."""
    body = "\r\n".join(lines) + "\r\n!"
    return (body + f"{TelegramParser.crc16(body):04X}\r\n").encode("ascii")


def dutch_dsmr5(
    currents: tuple[int, int, int],
    import_kw: tuple[float, float, float],
    export_kw: tuple[float, float, float],
    voltages: tuple[float, float, float] = (231.0, 232.0, 229.0),
) -> bytes:
    """A Dutch DSMR 5 meter telegram (integer currents), shaped like an ISKRA AM550."""
    total = sum(import_kw) - sum(export_kw)
    return with_crc(
        [
            "/ISK5\\2M550T-1012",
            "",
            "1-3:0.2.8(50)",
            "0-0:1.0.0(260115143020W)",
            "0-0:96.1.1(4530303434303037333832323436303139)",
            "1-0:1.8.1(002130.115*kWh)",
            "1-0:1.8.2(000995.226*kWh)",
            "1-0:2.8.1(000120.000*kWh)",
            "1-0:2.8.2(000030.500*kWh)",
            "0-0:96.14.0(0002)",
            f"1-0:1.7.0({max(total, 0):06.3f}*kW)",
            f"1-0:2.7.0({max(-total, 0):06.3f}*kW)",
            "0-0:96.7.21(00006)",
            "0-0:96.7.9(00002)",
            "1-0:99.97.0(1)(0-0:96.7.19)(190325080306W)(0000011163*s)",
            "1-0:32.32.0(00002)",
            "1-0:52.32.0(00002)",
            "1-0:72.32.0(00002)",
            "1-0:32.36.0(00000)",
            "1-0:52.36.0(00000)",
            "1-0:72.36.0(00000)",
            "0-0:96.13.0()",
            *(f"1-0:{c}.7.0({v:05.1f}*V)" for c, v in zip((32, 52, 72), voltages, strict=True)),
            *(f"1-0:{c}.7.0({i:03d}*A)" for c, i in zip((31, 51, 71), currents, strict=True)),
            *(f"1-0:{c}.7.0({p:06.3f}*kW)" for c, p in zip((21, 41, 61), import_kw, strict=True)),
            *(f"1-0:{c}.7.0({p:06.3f}*kW)" for c, p in zip((22, 42, 62), export_kw, strict=True)),
            "0-1:24.1.0(003)",
            "0-1:96.1.0(4730303339303031393336393930363139)",
            "0-1:24.2.1(260115143000W)(00461.442*m3)",
        ]
    )


def belgian_fluvius(
    currents: tuple[float, float, float],
    import_kw: tuple[float, float, float],
    export_kw: tuple[float, float, float],
    voltages: tuple[float, float, float] = (234.7, 232.1, 230.5),
) -> bytes:
    """A Belgian e-MUCS (Fluvius) telegram: decimal currents, 0-0:96.1.4 version line."""
    total = sum(import_kw) - sum(export_kw)
    return with_crc(
        [
            "/FLU5\\253769484_A",
            "",
            "0-0:96.1.4(50217)",
            "0-0:96.1.1(3153414733313031303231363035)",
            "0-0:1.0.0(260115143020W)",
            "1-0:1.8.1(000000.034*kWh)",
            "1-0:1.8.2(000015.758*kWh)",
            "1-0:2.8.1(000000.000*kWh)",
            "1-0:2.8.2(000000.011*kWh)",
            "0-0:96.14.0(0001)",
            "1-0:1.4.0(02.351*kW)",
            "1-0:1.6.0(260109134558W)(02.589*kW)",
            "0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)(251201000000W)(251123192538W)(03.695*kW)"
            "(260101000000W)(251205122139W)(05.980*kW)",
            f"1-0:1.7.0({max(total, 0):06.3f}*kW)",
            f"1-0:2.7.0({max(-total, 0):06.3f}*kW)",
            *(f"1-0:{c}.7.0({p:06.3f}*kW)" for c, p in zip((21, 41, 61), import_kw, strict=True)),
            *(f"1-0:{c}.7.0({p:06.3f}*kW)" for c, p in zip((22, 42, 62), export_kw, strict=True)),
            *(f"1-0:{c}.7.0({v:05.1f}*V)" for c, v in zip((32, 52, 72), voltages, strict=True)),
            *(f"1-0:{c}.7.0({i:06.2f}*A)" for c, i in zip((31, 51, 71), currents, strict=True)),
            "0-0:96.3.10(1)",
            "0-0:17.0.0(999.9*kW)",
            "1-0:31.4.0(999*A)",
            "0-0:96.13.0()",
        ]
    )
