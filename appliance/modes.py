"""Charge modes of the SCC (manual section 5.1) and the CAPACITY list bounds (SPEC)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from appliance.grid import NOMINAL_VOLTAGE_V

CAPACITY_MIN_KW = 4
CAPACITY_MAX_KW = 22


class ModeKind(enum.StrEnum):
    ECO_PLUS = "eco+"
    ECO = "eco"
    CAPACITY = "capacity"


@dataclass(frozen=True, slots=True)
class ChargeMode:
    kind: ModeKind
    capacity_kw: int = 0  # only for CAPACITY

    def __post_init__(self) -> None:
        if self.kind is ModeKind.CAPACITY:
            if not CAPACITY_MIN_KW <= self.capacity_kw <= CAPACITY_MAX_KW:
                raise ValueError(
                    f"CAPACITY must be {CAPACITY_MIN_KW}..{CAPACITY_MAX_KW} kW, "
                    f"not {self.capacity_kw}"
                )
        elif self.capacity_kw != 0:
            raise ValueError(f"{self.kind.value} takes no capacity")

    @property
    def label(self) -> str:
        """The text of the manual's mode list."""
        if self.kind is ModeKind.ECO_PLUS:
            return "ECO+ (PV only)"
        if self.kind is ModeKind.ECO:
            return "ECO (PV + 6 A)"
        return f"CAPACITY {self.capacity_kw} kW"

    def to_str(self) -> str:
        """Stable text form for settings, the API and MQTT: `eco+`, `eco`, `capacity:7`."""
        if self.kind is ModeKind.CAPACITY:
            return f"capacity:{self.capacity_kw}"
        return self.kind.value

    @staticmethod
    def parse(text: str) -> ChargeMode:
        text = text.strip().lower()
        if text.startswith("capacity:"):
            number = text.removeprefix("capacity:")
            if not number.isdigit():
                raise ValueError(f"not a capacity in kW: {number!r}")
            return ChargeMode(ModeKind.CAPACITY, int(number))
        try:
            return ChargeMode(ModeKind(text))
        except ValueError:
            raise ValueError(
                f"unknown charge mode {text!r}: use eco+, eco or capacity:<kW>"
            ) from None


ECO_PLUS = ChargeMode(ModeKind.ECO_PLUS)
ECO = ChargeMode(ModeKind.ECO)


def capacity_max_kw(phases: int, max_charge_current_a: float) -> int:
    """Highest CAPACITY step: min(22 kW, floor(phases x 230 V x max charge current / 1000))."""
    return min(
        CAPACITY_MAX_KW, math.floor(phases * NOMINAL_VOLTAGE_V * max_charge_current_a / 1000)
    )


def available_modes(phases: int, max_charge_current_a: float) -> tuple[ChargeMode, ...]:
    """The manual's mode list: ECO+, ECO, then CAPACITY 4 kW up to the charger's maximum."""
    top = capacity_max_kw(phases, max_charge_current_a)
    capacities = tuple(ChargeMode(ModeKind.CAPACITY, kw) for kw in range(CAPACITY_MIN_KW, top + 1))
    return (ECO_PLUS, ECO, *capacities)
