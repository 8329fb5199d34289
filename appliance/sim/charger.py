"""Simulated chargers that poll the appliance's meter registers, as a charger's firmware does.

The charger reads the emulated meter's per-phase currents through the real register map
(`appliance.modbus.maps.register_map(name).read_registers`), decodes the words itself and runs one
of the two common dynamic-load-balancing behaviours. `grid_limit_a` is the charger's own grid
limit setting (the SCC's "max charge current" must equal it, manual 6.1.1).

SUBTRACTING: the charger knows the reported current includes its own draw (`own`):
    available = min over its phases of (grid_limit - reported_p + own_p)
    offer = available, paused while available < minimum, at most its max current.

INTEGRATING: the charger moves its offer by a share of the smallest headroom each poll:
    headroom = min over its phases of (grid_limit - reported_p)
    offer += gain x headroom, clamped to [0, max], with anti-windup: never more than 3 A above
    what the EV draws (or the minimum while it has not started); paused below the minimum, and
    restarting at the minimum once the headroom carries it.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable

from appliance.grid import ReportedGrid
from appliance.modbus.maps import register_map

Triple = tuple[float, float, float]
READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
ANTI_WINDUP_A = 3.0


class ChargerBehaviour(enum.StrEnum):
    SUBTRACTING = "subtracting"
    INTEGRATING = "integrating"


def _emu_currents(words: list[int]) -> Triple:
    # Three uint32 in mA, high word first.
    values = [((words[i] << 16) | words[i + 1]) / 1000.0 for i in (0, 2, 4)]
    return (values[0], values[1], values[2])


def _sdm_currents(words: list[int]) -> Triple:
    raw = struct.pack(">6H", *words)
    values = struct.unpack(">3f", raw)
    return (values[0], values[1], values[2])


# (function code, first address, count, decoder) of the current registers of each meter.
_CURRENT_READS: dict[str, tuple[int, int, int, Callable[[list[int]], Triple]]] = {
    "emu_professional": (READ_HOLDING_REGISTERS, 4591, 6, _emu_currents),
    "eastron_sdm630": (READ_INPUT_REGISTERS, 0x0006, 6, _sdm_currents),
}


class MeterClient:
    """Reads the reported per-phase currents the way a charger would (words in, amperes out)."""

    def __init__(self, meter: str = "emu_professional") -> None:
        if meter not in _CURRENT_READS:
            raise ValueError(f"no simulated charger reads meter {meter!r}")
        self._map = register_map(meter)
        self._function, self._address, self._count, self._decode = _CURRENT_READS[meter]

    def currents(self, reported: ReportedGrid | None) -> Triple:
        words = self._map.read_registers(self._function, self._address, self._count, reported)
        return self._decode(words)


class SimCharger:
    def __init__(
        self,
        behaviour: ChargerBehaviour,
        *,
        grid_limit_a: float = 32.0,
        min_current_a: float = 6.0,
        max_current_a: float = 32.0,
        wired_phases: int = 3,
        gain: float = 0.4,
        meter: str = "emu_professional",
    ) -> None:
        self.behaviour = behaviour
        self.grid_limit_a = grid_limit_a
        self.min_current_a = min_current_a
        self.max_current_a = max_current_a
        self.wired = range(wired_phases)
        self.gain = gain
        self.client = MeterClient(meter)
        self.offer_a: float | None = None  # None: paused
        self.last_read: Triple = (0.0, 0.0, 0.0)

    def poll(self, reported: ReportedGrid | None, own_a: Triple) -> float | None:
        """Read the meter once and update the offer to the EV."""
        read = self.client.currents(reported)
        self.last_read = read
        limit = self.grid_limit_a
        if self.behaviour is ChargerBehaviour.SUBTRACTING:
            available = min(limit - read[p] + own_a[p] for p in self.wired)
            self.offer_a = (
                None if available < self.min_current_a else min(available, self.max_current_a)
            )
            return self.offer_a
        headroom = min(limit - read[p] for p in self.wired)
        if self.offer_a is None:
            if headroom >= self.min_current_a:
                self.offer_a = self.min_current_a
            return self.offer_a
        own = max(own_a[p] for p in self.wired)
        ceiling = min(self.max_current_a, max(own, self.min_current_a) + ANTI_WINDUP_A)
        offer = min(max(self.offer_a + self.gain * headroom, 0.0), ceiling)
        self.offer_a = offer if offer >= self.min_current_a else None
        return self.offer_a
