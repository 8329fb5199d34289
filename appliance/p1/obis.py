"""The telegram's lines as data: one OBIS reference and one value template per line.

The `csp1` profile is the CSP1+ manual's example telegram (section 3.11) line for line, in its
order and number formats. Lines the manual lists as filled (section 3.10.2) carry measured values
through `{placeholders}`; every other line is the example's constant, kept for consumers that
expect the DSMR 4 / SMR 5 layout. The `dsmr5` profile differs in three places only: version 50,
the real timestamp and the measured voltages.

Templates are `str.format` strings; the codec supplies the placeholders (see `telegram.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

ProfileName = Literal["csp1", "dsmr5"]

HEADER_PREFIX = "/XMX5XMXCQA"  # manufacturer flag XMX, '5' = 115200 baud (DSMR), type XMXCQA


@dataclass(frozen=True, slots=True)
class ObisLine:
    obis: str  # reduced OBIS code as it appears on the wire, e.g. "1-0:31.7.0"
    template: str  # value groups with their parentheses and units, e.g. "({current_l1:06.2f}*A)"
    measured: bool = False  # True when the line carries a measured value

    def render(self, values: dict[str, object]) -> str:
        return self.obis + self.template.format_map(values)


@dataclass(frozen=True, slots=True)
class Profile:
    name: ProfileName
    lines: tuple[ObisLine, ...]


def _measured(obis: str, template: str) -> ObisLine:
    return ObisLine(obis, template, measured=True)


CSP1 = Profile(
    "csp1",
    (
        _measured("1-3:0.2.8", "(40)"),
        ObisLine("0-0:1.0.0", "(000101010000W)"),
        ObisLine("0-0:96.1.1", "(45303030303030303030303030303030)"),
        ObisLine("1-0:1.8.1", "(000000.000*kWh)"),
        ObisLine("1-0:2.8.1", "(000000.000*kWh)"),
        ObisLine("1-0:1.8.2", "(000000.000*kWh)"),
        ObisLine("1-0:2.8.2", "(000000.000*kWh)"),
        ObisLine("0-0:96.14.0", "(0001)"),
        _measured("1-0:1.7.0", "({import_total_kw:06.3f}*kW)"),
        _measured("1-0:2.7.0", "({export_total_kw:06.3f}*kW)"),
        ObisLine("0-0:96.3.10", "(1)"),
        ObisLine("0-0:96.7.21", "(00000)"),
        ObisLine("0-0:96.7.9", "(00000)"),
        ObisLine("1-0:99.97.0", "(0)(0-0:96.7.19)"),
        ObisLine("1-0:32.32.0", "(00000)"),
        ObisLine("1-0:52.32.0", "(00000)"),
        ObisLine("1-0:72.32.0", "(00000)"),
        ObisLine("1-0:32.36.0", "(00000)"),
        ObisLine("1-0:52.36.0", "(00000)"),
        ObisLine("1-0:72.36.0", "(00000)"),
        ObisLine("0-0:96.13.1", "(XMX_P1CS_V05)"),
        ObisLine("0-0:96.13.0", "()"),
        ObisLine("1-0:32.7.0", "(230.0*V)"),
        ObisLine("1-0:52.7.0", "(230.0*V)"),
        ObisLine("1-0:72.7.0", "(230.0*V)"),
        _measured("1-0:31.7.0", "({current_l1:06.2f}*A)"),
        _measured("1-0:51.7.0", "({current_l2:06.2f}*A)"),
        _measured("1-0:71.7.0", "({current_l3:06.2f}*A)"),
        _measured("1-0:21.7.0", "({import_l1_kw:06.3f}*kW)"),
        _measured("1-0:41.7.0", "({import_l2_kw:06.3f}*kW)"),
        _measured("1-0:61.7.0", "({import_l3_kw:06.3f}*kW)"),
        _measured("1-0:22.7.0", "({export_l1_kw:06.3f}*kW)"),
        _measured("1-0:42.7.0", "({export_l2_kw:06.3f}*kW)"),
        _measured("1-0:62.7.0", "({export_l3_kw:06.3f}*kW)"),
    ),
)

# SMR 5 consumers (e.g. SmartEVSE's Sensorbox) ignore version 40 data and compute current from
# per-phase power and voltage, so they need the real voltage; the timestamp is real too.
_DSMR5_OVERRIDES: dict[str, str] = {
    "1-3:0.2.8": "(50)",
    "0-0:1.0.0": "({timestamp})",
    "1-0:32.7.0": "({voltage_l1:05.1f}*V)",
    "1-0:52.7.0": "({voltage_l2:05.1f}*V)",
    "1-0:72.7.0": "({voltage_l3:05.1f}*V)",
}

DSMR5 = Profile(
    "dsmr5",
    tuple(
        replace(line, template=_DSMR5_OVERRIDES[line.obis], measured=True)
        if line.obis in _DSMR5_OVERRIDES
        else line
        for line in CSP1.lines
    ),
)

PROFILES: dict[str, Profile] = {profile.name: profile for profile in (CSP1, DSMR5)}
