"""The Modbus request log: what the charger asked, and what it got back.

A bounded in-memory deque (the newest requests, nothing written to the SD card). An installer
reads it with `scc modbus-log` to see which registers the charger polls and whether it counts
addresses from 1 (`addressing_hint`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from appliance.clock import Clock
from appliance.modbus.registers import RegisterMap

DEFAULT_CAPACITY = 1000

FUNCTION_NAMES = {
    1: "read coils",
    2: "read discrete inputs",
    3: "read holding registers",
    4: "read input registers",
    5: "write single coil",
    6: "write single register",
    15: "write multiple coils",
    16: "write multiple registers",
}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as it arrived, and the answer (`result`: "ok", "exception 02", "silent")."""

    time_s: float  # Unix time
    transport: str  # "tcp" or "rtu"
    peer: str  # TCP client address:port, or the serial port
    unit: int
    function_code: int
    address: int  # as requested on the wire (protocol address)
    count: int
    result: str
    hint: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> RequestRecord:
        return RequestRecord(**data)


class RequestLog:
    """The newest `capacity` requests, oldest first, plus running totals."""

    def __init__(self, clock: Clock, capacity: int = DEFAULT_CAPACITY) -> None:
        self._clock = clock
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self.total = 0
        self.errors = 0

    def add(
        self,
        *,
        transport: str,
        peer: str,
        unit: int,
        function_code: int,
        address: int,
        count: int,
        result: str,
        hint: str = "",
    ) -> RequestRecord:
        record = RequestRecord(
            time_s=self._clock.time(),
            transport=transport,
            peer=peer,
            unit=unit,
            function_code=function_code,
            address=address,
            count=count,
            result=result,
            hint=hint,
        )
        self._records.append(record)
        self.total += 1
        if result != "ok":
            self.errors += 1
        return record

    def records(self) -> list[RequestRecord]:
        return list(self._records)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view for `scc modbus-log`."""
        return {
            "total": self.total,
            "errors": self.errors,
            "records": [r.to_json() for r in self._records],
        }


def addressing_hint(
    register_map: RegisterMap, offset: int, function_code: int, address: int, count: int
) -> str:
    """Point out reads that look one register off, with the setting that fixes them.

    A charger that counts registers from 1 asks one word below each value; one that counts
    from 0 while the offset is -1 asks one word above. A read that starts on a value is fine.
    """
    if function_code not in register_map.function_codes:
        return ""
    start = address - offset  # map address
    if _starts_value(register_map, start):
        return ""
    if offset == 0 and _starts_value(register_map, start + 1):
        return "reads one below a value: the charger counts from 1; set address offset -1"
    if offset == -1 and _starts_value(register_map, start - 1):
        return "reads one above a value: the charger counts from 0; set address offset 0"
    return ""


def _starts_value(register_map: RegisterMap, address: int) -> bool:
    register = register_map.register_at(address)
    return register is not None and register.source is not None


def format_records(records: Iterable[RequestRecord]) -> str:
    """A table for the terminal, one request per line."""
    lines = [
        f"{'time (UTC)':<12} {'via':<4} {'peer':<22} {'unit':>4} {'fc':>3} "
        f"{'address':>7} {'count':>5}  result"
    ]
    for r in records:
        stamp = datetime.fromtimestamp(r.time_s, UTC).strftime("%H:%M:%S.%f")[:12]
        line = (
            f"{stamp:<12} {r.transport:<4} {r.peer[:22]:<22} {r.unit:>4} {r.function_code:>3} "
            f"{r.address:>7} {r.count:>5}  {r.result}"
        )
        if r.hint:
            line += f"  <- {r.hint}"
        lines.append(line)
    return "\n".join(lines)
