"""P1 input: whole telegrams out of a byte stream, then a `GridReading` out of each telegram.

`TelegramFramer` cuts a stream into candidate telegrams with a bounded buffer and rejects what
a conforming meter never sends: LF-only line ends, a lowercase or missing CRC (DSMR 4+), a
telegram cut short by the next `/`, garbage, an endless line without `!`. `decode_telegram`
parses the rest with dsmr_parser (checksum validation on) and picks the flavour itself:

- Belgian e-MUCS / Fluvius (`0-0:96.1.4` version line, decimal currents): BELGIUM_FLUVIUS;
- Dutch DSMR 4/5 (integer currents), a CSP1+ and this appliance's own output: V5;
- DSMR 2.2/3 (no CRC, 9600 7E1; only when the reader allows telegrams without a CRC): V2_2.

Signed per-phase current: (P+ - P-) / U where the meter sends per-phase powers, with at least
the meter's own current line as magnitude (a reactive load draws more current than P / U, and
Dutch meters truncate currents to whole amperes); otherwise the current line with the direction
of the total power.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dsmr_parser import telegram_specifications
from dsmr_parser.exceptions import InvalidChecksumError, ParseError
from dsmr_parser.parsers import TelegramParser

from appliance.errors import TelegramError
from appliance.grid import (
    NOMINAL_VOLTAGE_V,
    Direction,
    Fault,
    GridReading,
    PhaseReading,
    Source,
)

MAX_TELEGRAM_BYTES = 4096  # the longest real meters send is ~2 kB (Belgian, with M-Bus data)
NO_DIRECTION_BELOW_W = 1.0  # the meters' resolution: below it, no direction can be told
MIN_VOLTAGE_V = 50.0  # as the CT path: below this the voltage line is not a usable reference

_CRC_LINE = re.compile(rb"!([0-9A-Fa-f]{0,4})\r?\n")
_FLUVIUS_VERSION = re.compile(r"^\d-\d:96\.1\.4\(", re.MULTILINE)


class Rejection(enum.StrEnum):
    BAD_CRC = "bad_crc"
    MALFORMED_CRC = "malformed_crc"  # lowercase, too short, or missing where required
    LF_ONLY = "lf_only"
    TRUNCATED = "truncated"  # a new `/` before the end of the previous telegram
    TOO_LONG = "too_long"  # no `!` within MAX_TELEGRAM_BYTES
    NOT_ASCII = "not_ascii"
    UNPARSABLE = "unparsable"
    NO_PHASE_DATA = "no_phase_data"  # neither per-phase currents nor powers


@dataclass
class InputStats:
    accepted: int = 0
    garbage_bytes: int = 0
    rejected: dict[Rejection, int] = field(default_factory=lambda: dict.fromkeys(Rejection, 0))

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class TelegramFramer:
    """Bounded stream framing: never holds more than `max_bytes` of one candidate telegram."""

    def __init__(
        self, stats: InputStats | None = None, max_bytes: int = MAX_TELEGRAM_BYTES
    ) -> None:
        self.stats = stats or InputStats()
        self._max_bytes = max_bytes
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def _reject(self, reason: Rejection) -> None:
        self.stats.rejected[reason] += 1

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the complete candidate telegrams (from `/` to the CRC's CRLF)."""
        out: list[bytes] = []
        self._buffer += data
        while True:
            start = self._buffer.find(b"/")
            if start < 0:
                self.stats.garbage_bytes += len(self._buffer.strip())
                self._buffer.clear()
                return out
            if start:
                self.stats.garbage_bytes += len(bytes(self._buffer[:start]).strip())
                del self._buffer[:start]
            end = self._buffer.find(b"!")
            restart = self._buffer.find(b"/", 1, None if end < 0 else end)
            if restart > 0:
                self._reject(Rejection.TRUNCATED)
                del self._buffer[:restart]
                continue
            if end < 0:
                if len(self._buffer) > self._max_bytes:
                    self._reject(Rejection.TOO_LONG)
                    self._buffer.clear()
                return out
            tail = self._buffer[end : end + 8]
            newline = tail.find(b"\n")
            if newline < 0:
                if len(tail) >= 8:  # `!` + 4 digits + CRLF fit in 7 bytes
                    self._reject(Rejection.MALFORMED_CRC)
                    del self._buffer[: end + 1]
                    continue
                return out
            candidate = bytes(self._buffer[: end + newline + 1])
            del self._buffer[: end + newline + 1]
            out.append(candidate)


@dataclass(frozen=True, slots=True)
class MeterTelegram:
    """What a telegram says about the grid, before it becomes a `GridReading`."""

    flavour: str
    currents_a: tuple[float | None, float | None, float | None]
    import_w: tuple[float | None, float | None, float | None]
    export_w: tuple[float | None, float | None, float | None]
    voltages_v: tuple[float | None, float | None, float | None]
    total_import_w: float | None
    total_export_w: float | None
    import_energy_kwh: float
    export_energy_kwh: float


_PARSERS: dict[str, TelegramParser] = {
    "fluvius": TelegramParser(telegram_specifications.BELGIUM_FLUVIUS),
    "dsmr5": TelegramParser(telegram_specifications.V5),
    "dsmr22": TelegramParser(telegram_specifications.V2_2),
}


def _value(telegram: Any, name: str, scale: float = 1.0) -> float | None:
    item = getattr(telegram, name, None)
    raw = getattr(item, "value", None)
    if not isinstance(raw, Decimal | int | float):
        return None
    value = float(raw) * scale
    return value if math.isfinite(value) else None


def _sum(telegram: Any, names: tuple[str, ...]) -> float:
    return math.fsum(v for n in names if (v := _value(telegram, n)) is not None)


def check_framing(candidate: bytes, require_crc: bool = True) -> str:
    """The telegram as text, or `TelegramError` with a `Rejection` as its first argument."""
    try:
        text = candidate.decode("ascii")
    except UnicodeDecodeError:
        raise TelegramError(Rejection.NOT_ASCII) from None
    if text.count("\n") != text.count("\r\n"):
        raise TelegramError(Rejection.LF_ONLY)
    match = _CRC_LINE.search(candidate)
    crc = match.group(1).decode() if match else ""
    if (crc or require_crc) and (len(crc) != 4 or crc != crc.upper()):
        raise TelegramError(Rejection.MALFORMED_CRC)
    return text


def decode_telegram(candidate: bytes, require_crc: bool = True) -> MeterTelegram:
    """Parse one framed telegram; raise `TelegramError(Rejection)` when it must be rejected."""
    text = check_framing(candidate, require_crc)
    has_crc = not text.rstrip().endswith("!")
    if _FLUVIUS_VERSION.search(text):
        flavour = "fluvius"
    elif has_crc:
        flavour = "dsmr5"
    else:
        flavour = "dsmr22"
    try:
        telegram = _PARSERS[flavour].parse(text)
    except InvalidChecksumError:
        raise TelegramError(Rejection.BAD_CRC) from None
    except (ParseError, ValueError, ArithmeticError, LookupError, TypeError):
        # dsmr_parser lets a value's own conversion error through (e.g. decimal's
        # InvalidOperation for "0.0.1"): untrusted input, so every such failure is a rejection.
        raise TelegramError(Rejection.UNPARSABLE) from None
    phases = ("L1", "L2", "L3")
    parsed = MeterTelegram(
        flavour=flavour,
        currents_a=_triple(telegram, "INSTANTANEOUS_CURRENT_{}", phases, 1.0),
        import_w=_triple(telegram, "INSTANTANEOUS_ACTIVE_POWER_{}_POSITIVE", phases, 1000.0),
        export_w=_triple(telegram, "INSTANTANEOUS_ACTIVE_POWER_{}_NEGATIVE", phases, 1000.0),
        voltages_v=_triple(telegram, "INSTANTANEOUS_VOLTAGE_{}", phases, 1.0),
        total_import_w=_value(telegram, "CURRENT_ELECTRICITY_USAGE", 1000.0),
        total_export_w=_value(telegram, "CURRENT_ELECTRICITY_DELIVERY", 1000.0),
        import_energy_kwh=_sum(
            telegram, ("ELECTRICITY_USED_TARIFF_1", "ELECTRICITY_USED_TARIFF_2")
        ),
        export_energy_kwh=_sum(
            telegram, ("ELECTRICITY_DELIVERED_TARIFF_1", "ELECTRICITY_DELIVERED_TARIFF_2")
        ),
    )
    if all(c is None for c in parsed.currents_a) and all(p is None for p in parsed.import_w):
        raise TelegramError(Rejection.NO_PHASE_DATA)
    values = (*parsed.currents_a, *parsed.import_w, *parsed.export_w, *parsed.voltages_v)
    if any(v is not None and v < 0 for v in values):
        raise TelegramError(Rejection.UNPARSABLE)  # DSMR values are never negative
    return parsed


def _triple(
    telegram: Any, pattern: str, phases: tuple[str, ...], scale: float
) -> tuple[float | None, float | None, float | None]:
    a, b, c = (_value(telegram, pattern.format(p), scale) for p in phases)
    return a, b, c


def _direction(power_w: float) -> Direction:
    if power_w >= NO_DIRECTION_BELOW_W:
        return Direction.IMPORT
    if power_w <= -NO_DIRECTION_BELOW_W:
        return Direction.EXPORT
    return Direction.NONE


def _phase(meter: MeterTelegram, index: int, total_w: float) -> PhaseReading | None:
    current = meter.currents_a[index]
    plus, minus = meter.import_w[index], meter.export_w[index]
    measured_v = meter.voltages_v[index]
    # A dead or missing voltage line cannot scale P to I: use the nominal voltage then.
    voltage = measured_v if measured_v and measured_v >= MIN_VOLTAGE_V else NOMINAL_VOLTAGE_V
    if plus is not None or minus is not None:
        power = (plus or 0.0) - (minus or 0.0)
        magnitude = max(abs(power) / voltage, current or 0.0)
        direction = _direction(power)
    elif current is not None:
        direction = _direction(total_w)
        magnitude = current
        power = math.copysign(current * voltage, total_w) if direction != Direction.NONE else 0.0
    else:
        return None
    apparent = magnitude * voltage
    power_factor = min(abs(power) / apparent, 1.0) if apparent > 0 else 0.0
    return PhaseReading(
        current_a=magnitude,
        power_w=power,
        voltage_v=voltage,
        power_factor=power_factor,
        direction=direction,
    )


def meter_reading(meter: MeterTelegram, received_monotonic: float, wall_time: float) -> GridReading:
    """The `GridReading` of one telegram; its age counts from the moment it was received."""
    total_w = (meter.total_import_w or 0.0) - (meter.total_export_w or 0.0)
    phases = [_phase(meter, i, total_w) for i in range(3)]
    present = [p for p in phases if p is not None]
    filled = tuple(p if p is not None else PhaseReading.absent() for p in phases)
    return GridReading(
        monotonic_s=received_monotonic,
        wall_time_s=wall_time,
        source=Source.P1,
        phases=filled,  # type: ignore[arg-type]
        phase_count=3 if len(present) > 1 or phases[0] is None else 1,
        frequency_hz=None,
        import_energy_kwh=meter.import_energy_kwh,
        export_energy_kwh=meter.export_energy_kwh,
    )


@dataclass
class P1Decoder:
    """Bytes in, readings out; rejections counted in `stats`."""

    require_crc: bool = True
    stats: InputStats = field(default_factory=InputStats)

    def __post_init__(self) -> None:
        self._framer = TelegramFramer(self.stats)

    @property
    def buffered(self) -> int:
        return self._framer.buffered

    def feed(self, data: bytes, received_monotonic: float, wall_time: float) -> list[GridReading]:
        readings = []
        for candidate in self._framer.feed(data):
            try:
                meter = decode_telegram(candidate, self.require_crc)
            except TelegramError as exc:
                self.stats.rejected[Rejection(exc.args[0])] += 1
                continue
            self.stats.accepted += 1
            readings.append(meter_reading(meter, received_monotonic, wall_time))
        return readings


@dataclass
class StaleMonitor:
    """Decides when P1 input must report NO_DATA (the fail-safe). Pure: times passed in."""

    stale_after_s: float
    phase_count: int
    started_s: float
    last_valid_s: float | None = None
    last_fault_s: float | None = None
    rejected_at_last_valid: int = 0

    def valid_received(self, now: float, rejected_total: int) -> None:
        self.last_valid_s = now
        self.rejected_at_last_valid = rejected_total

    def due(self, now: float) -> float:
        """When to check next."""
        reference = self.last_valid_s if self.last_valid_s is not None else self.started_s
        stale_at = reference + self.stale_after_s
        if now < stale_at:
            return stale_at
        return (self.last_fault_s or now) + 1.0

    def check(self, now: float, wall_time: float, rejected_total: int) -> GridReading | None:
        """A NO_DATA reading when the data is stale and one is due, else None."""
        reference = self.last_valid_s if self.last_valid_s is not None else self.started_s
        if now - reference <= self.stale_after_s:
            return None
        if self.last_fault_s is not None and now - self.last_fault_s < 1.0:
            return None
        self.last_fault_s = now
        faults = {Fault.NO_DATA}
        if rejected_total > self.rejected_at_last_valid:
            faults.add(Fault.BAD_TELEGRAM)
        absent = PhaseReading.absent()
        return GridReading(
            monotonic_s=now,
            wall_time_s=wall_time,
            source=Source.P1,
            phases=(absent, absent, absent),
            phase_count=self.phase_count,
            frequency_hz=None,
            faults=frozenset(faults),
        )
