"""The P1 telegram codec: one `GridReading` in, one telegram's bytes out. Pure, no I/O.

Wire format (DSMR 5.0.2 framing, CSP1+ manual 3.11 content): header `/XMX5XMXCQA` + the
10-digit device number, a blank line, the OBIS lines of the profile (`obis.py`), then `!` and
the CRC-16/ARC over everything from `/` to `!` as four uppercase hex digits. Every line ends in
CRLF. Values are never negative: import and export travel on separate lines.

A reading that must not steer a charger (a window fault: no data, no voltage, a bad window) is
sent as the fail-safe telegram: every phase reports `FAILSAFE_CURRENT_A` of import, so a
charger's load balancing sees no headroom and pauses instead of losing its meter.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from appliance.errors import TelegramError
from appliance.grid import FAILSAFE_CURRENT_A, NOMINAL_VOLTAGE_V, Fault, GridReading
from appliance.p1.obis import HEADER_PREFIX, PROFILES, Profile

CRLF = "\r\n"
MAX_TELEGRAM_BYTES = 1024  # consumer buffers are 1.5-2 kB; real CSP1 telegrams are ~800 bytes
# The largest values the formats hold: F3(2,2) currents, F5(3,3) powers in kW, F4(1,1) voltages.
MAX_CURRENT_A = 999.99
MAX_POWER_KW = 99.999
MAX_VOLTAGE_V = 999.9
# DSMR timestamps are local time in the Benelux (CET/CEST) with S/W for summer/winter time.
DSMR_TIMEZONE = ZoneInfo("Europe/Amsterdam")


def _crc16_arc_table() -> tuple[int, ...]:
    """One entry per byte value for the reflected polynomial 0xA001."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC16_ARC_TABLE = _crc16_arc_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC (poly 0x8005 reflected, init 0, no final xor), as DSMR 4+ specifies."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC16_ARC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def dsmr_timestamp(wall_time: float) -> str:
    """`YYMMDDhhmmssX` in Benelux local time; X is S (summer time) or W (winter time)."""
    local = datetime.fromtimestamp(wall_time, UTC).astimezone(DSMR_TIMEZONE)
    season = "S" if local.dst() else "W"
    return local.strftime("%y%m%d%H%M%S") + season


def _non_negative(value: float, ceiling: float) -> float:
    """Clamp into the format's range; NaN and -0.0 become 0.0 (never a minus sign)."""
    if math.isnan(value) or value <= 0.0:
        return 0.0
    return min(value, ceiling)


def telegram_values(reading: GridReading, wall_time: float) -> dict[str, object]:
    """The placeholders of the profile templates, computed from one reading."""
    values: dict[str, object] = {"timestamp": dsmr_timestamp(wall_time)}
    failsafe = not reading.valid
    import_w = export_w = 0.0
    for number, phase in enumerate(reading.phases, start=1):
        if failsafe:
            voltage = phase.voltage_v if phase.voltage_v > 0 else NOMINAL_VOLTAGE_V
            current, power_w = FAILSAFE_CURRENT_A, FAILSAFE_CURRENT_A * voltage
        elif Fault.CT_MISSING in phase.faults:
            current, power_w = 0.0, 0.0  # an open input measures only noise
        else:
            current, power_w = phase.current_a, phase.power_w
        phase_import, phase_export = max(power_w, 0.0), max(-power_w, 0.0)
        import_w += phase_import
        export_w += phase_export
        values[f"current_l{number}"] = _non_negative(current, MAX_CURRENT_A)
        values[f"voltage_l{number}"] = _non_negative(phase.voltage_v, MAX_VOLTAGE_V)
        values[f"import_l{number}_kw"] = _non_negative(phase_import / 1000, MAX_POWER_KW)
        values[f"export_l{number}_kw"] = _non_negative(phase_export / 1000, MAX_POWER_KW)
    # Totals net the phases, as a meter's registers do: 1.7.0 = max(ΣP, 0), 2.7.0 = max(-ΣP, 0).
    net_kw = (import_w - export_w) / 1000
    values["import_total_kw"] = _non_negative(net_kw, MAX_POWER_KW)
    values["export_total_kw"] = _non_negative(-net_kw, MAX_POWER_KW)
    return values


def profile_by_name(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise TelegramError(f"unknown telegram profile {name!r} (known: {known})") from None


def build_telegram(
    reading: GridReading,
    device_number: str,
    profile: str = "csp1",
    wall_time: float | None = None,
) -> bytes:
    """The complete telegram for one reading, from `/` to the CRC line's CRLF."""
    if len(device_number) != 10 or not device_number.isdigit():
        raise TelegramError(f"device number must be 10 digits, not {device_number!r}")
    chosen = profile_by_name(profile)
    values = telegram_values(reading, reading.wall_time_s if wall_time is None else wall_time)
    lines = [HEADER_PREFIX + device_number, ""]
    lines += [line.render(values) for line in chosen.lines]
    body = (CRLF.join(lines) + CRLF + "!").encode("ascii")
    telegram = body + f"{crc16(body):04X}{CRLF}".encode("ascii")
    if len(telegram) >= MAX_TELEGRAM_BYTES:
        raise TelegramError(f"telegram of {len(telegram)} bytes exceeds {MAX_TELEGRAM_BYTES}")
    return telegram
