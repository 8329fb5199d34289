"""The meters the appliance can pose as, one declarative table each.

Every value comes from the `ReportedGrid` the controller published (its re-calculated per-phase
currents, not the raw measurement); the maps add nothing of their own. Public API:
`register_map(name)`, `available_maps()`, `RegisterMap.read_registers(...)`.
"""

from __future__ import annotations

import math

from appliance.errors import (
    ConfigurationError,
    IllegalFunctionError,
    ModbusAddressError,
    ModbusError,
    ModbusValueError,
)
from appliance.grid import ReportedGrid
from appliance.modbus.registers import (
    READ_HOLDING_REGISTERS,
    READ_INPUT_REGISTERS,
    Register,
    RegisterMap,
    RegisterType,
    ValueSource,
    WordOrder,
    not_available,
)

__all__ = [
    "IllegalFunctionError",
    "ModbusAddressError",
    "ModbusError",
    "ModbusValueError",
    "RegisterMap",
    "available_maps",
    "register_map",
]

PHASES = (1, 2, 3)


# --- value sources: each reads one quantity of the ReportedGrid -------------------------------


def _current(phase: int) -> ValueSource:
    return lambda grid: grid.phases[phase - 1].current_a


def _voltage(phase: int) -> ValueSource:
    return lambda grid: grid.phases[phase - 1].voltage_v


def _power(phase: int) -> ValueSource:
    return lambda grid: grid.phases[phase - 1].power_w


def _apparent(phase: int) -> ValueSource:
    return lambda grid: grid.phases[phase - 1].apparent_power_va


def _rounded_apparent(phase: int) -> ValueSource:
    return lambda grid: round(grid.phases[phase - 1].apparent_power_va)


def _total_rounded_apparent(grid: ReportedGrid) -> float:
    # The sum of the per-phase registers, so a charger adding them up gets the same total.
    return sum(round(p.apparent_power_va) for p in grid.phases)


def _total_milliamps(grid: ReportedGrid) -> float:
    # The sum of the per-phase registers (each rounded to mA), as with the apparent power.
    return sum(round(p.current_a * 1000.0) for p in grid.phases)


def _power_factor(power_w: float, apparent_va: float) -> float:
    """P/S with the sign of P (+ import, - export); 1.0 with no load, as meters show."""
    if apparent_va <= 0.0:
        return 1.0
    return max(-1.0, min(1.0, power_w / apparent_va))


def _phase_power_factor(phase: int) -> ValueSource:
    def source(grid: ReportedGrid) -> float:
        reported = grid.phases[phase - 1]
        return _power_factor(reported.power_w, reported.apparent_power_va)

    return source


def _total_power_factor(grid: ReportedGrid) -> float:
    return _power_factor(grid.total_power_w, grid.total_apparent_power_va)


def _average_voltage(grid: ReportedGrid) -> float:
    live = [p.voltage_v for p in grid.phases if p.voltage_v > 0.0]
    return math.fsum(live) / len(live) if live else 0.0


def _average_current(grid: ReportedGrid) -> float:
    return grid.total_current_a / len(grid.phases)


def _total_current(grid: ReportedGrid) -> float:
    return grid.total_current_a


def _total_power(grid: ReportedGrid) -> float:
    return grid.total_power_w


def _total_apparent(grid: ReportedGrid) -> float:
    return grid.total_apparent_power_va


def _frequency(grid: ReportedGrid) -> float:
    return grid.frequency_hz


def _import_kwh(grid: ReportedGrid) -> float:
    return grid.import_energy_kwh


def _export_kwh(grid: ReportedGrid) -> float:
    return grid.export_energy_kwh


def _total_kwh(grid: ReportedGrid) -> float:
    return grid.import_energy_kwh + grid.export_energy_kwh


# --- EMU Professional 3/75 (SCC manual, Appendix A; SPEC: Modbus addresses) -------------------

EMU_PROFESSIONAL = RegisterMap(
    name="emu_professional",
    title="EMU Professional Modbus TCP",
    function_codes=frozenset({READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS}),
    word_order=WordOrder.HIGH_FIRST,
    registers=(
        not_available(4521, 16),
        *(
            Register(
                4535 + 2 * n,
                f"instantaneous_apparent_power_l{n}",
                RegisterType.UINT32,
                "VA",
                source=_rounded_apparent(n),
                description=f"reported V x I of L{n}",
            )
            for n in PHASES
        ),
        Register(
            4543,
            "total_apparent_power",
            RegisterType.UINT32,
            "VA",
            source=_total_rounded_apparent,
            description="sum of the three phase registers",
        ),
        not_available(4545, 22),
        *(
            Register(
                4566 + n,
                f"instantaneous_voltage_l{n}",
                RegisterType.UINT16,
                "0.1 V",
                scale=10.0,
                source=_voltage(n),
                description=f"voltage of L{n}",
            )
            for n in PHASES
        ),
        not_available(4570, 21),
        *(
            Register(
                4589 + 2 * n,
                f"instantaneous_current_l{n}",
                RegisterType.UINT32,
                "mA",
                scale=1000.0,
                source=_current(n),
                description=f"reported (re-calculated) current of L{n}",
            )
            for n in PHASES
        ),
        Register(
            4597,
            "total_instantaneous_current",
            RegisterType.UINT32,
            "mA",
            source=_total_milliamps,
            description="sum of the three phase registers",
        ),
    ),
    notes=(
        "Addresses are protocol (0-based) addresses as the SCC manual lists them; the setting "
        "`meter.address_offset = -1` moves the whole map one down for chargers that count "
        "from 1. FC03 and FC04 both read it. The whole window 4521..4598 (78 registers) reads "
        "in one request; N.A. registers read 0."
    ),
)


# --- Eastron SDM630 (input registers, IEEE 754 float32, high word first) ----------------------


def _sdm_float(address: int, name: str, unit: str, source: ValueSource, text: str) -> Register:
    return Register(address, name, RegisterType.FLOAT32, unit, source=source, description=text)


EASTRON_SDM630 = RegisterMap(
    name="eastron_sdm630",
    title="Eastron SDM630 Modbus",
    function_codes=frozenset({READ_INPUT_REGISTERS}),
    word_order=WordOrder.HIGH_FIRST,
    registers=(
        *(
            _sdm_float(2 * (n - 1), f"phase_{n}_voltage", "V", _voltage(n), f"L{n}-N")
            for n in PHASES
        ),
        *(
            _sdm_float(
                0x06 + 2 * (n - 1), f"phase_{n}_current", "A", _current(n), "reported current"
            )
            for n in PHASES
        ),
        *(
            _sdm_float(
                0x0C + 2 * (n - 1),
                f"phase_{n}_active_power",
                "W",
                _power(n),
                "+ import, - export",
            )
            for n in PHASES
        ),
        *(
            _sdm_float(0x12 + 2 * (n - 1), f"phase_{n}_apparent_power", "VA", _apparent(n), "V x I")
            for n in PHASES
        ),
        not_available(0x18, 6),  # reactive power L1..L3: not reported
        *(
            _sdm_float(
                0x1E + 2 * (n - 1),
                f"phase_{n}_power_factor",
                "-",
                _phase_power_factor(n),
                "P / S, sign of P",
            )
            for n in PHASES
        ),
        not_available(0x24, 6),  # phase angles
        _sdm_float(0x2A, "average_line_to_neutral_voltage", "V", _average_voltage, "live phases"),
        not_available(0x2C, 2),
        _sdm_float(0x2E, "average_line_current", "A", _average_current, "sum / 3"),
        _sdm_float(0x30, "sum_of_line_currents", "A", _total_current, "L1 + L2 + L3"),
        not_available(0x32, 2),
        _sdm_float(0x34, "total_system_power", "W", _total_power, "+ import, - export"),
        not_available(0x36, 2),
        _sdm_float(0x38, "total_system_apparent_power", "VA", _total_apparent, "sum of V x I"),
        not_available(0x3A, 4),  # total reactive power
        _sdm_float(0x3E, "total_system_power_factor", "-", _total_power_factor, "P / S"),
        not_available(0x40, 6),  # total phase angle
        _sdm_float(0x46, "frequency", "Hz", _frequency, "supply frequency"),
        _sdm_float(0x48, "total_import_active_energy", "kWh", _import_kwh, "imported"),
        _sdm_float(0x4A, "total_export_active_energy", "kWh", _export_kwh, "exported"),
        not_available(0x4C, 4),  # import/export reactive energy
        _sdm_float(0x156, "total_active_energy", "kWh", _total_kwh, "import + export"),
        not_available(0x158, 2),  # total reactive energy
    ),
    notes=(
        "Input registers (FC04), IEEE 754 float32, high word first. 0x0000..0x004F is gap-free "
        "so chargers that read many registers at once succeed; reactive quantities and phase "
        "angles read 0.0."
    ),
)


# --- Carlo Gavazzi EM340 (integers, 32-bit values low word first) -----------------------------


def _em_int32(
    address: int, name: str, unit: str, scale: float, source: ValueSource, *, text: str
) -> Register:
    return Register(address, name, RegisterType.INT32, unit, scale, source, text)


CARLO_GAVAZZI_EM340 = RegisterMap(
    name="carlo_gavazzi_em340",
    title="Carlo Gavazzi EM340",
    function_codes=frozenset({READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS}),
    word_order=WordOrder.LOW_FIRST,
    registers=(
        *(
            _em_int32(2 * (n - 1), f"v_l{n}_n", "0.1 V", 10.0, _voltage(n), text=f"L{n}-N")
            for n in PHASES
        ),
        not_available(0x06, 6),  # line-to-line voltages: not reported
        *(
            _em_int32(
                0x0C + 2 * (n - 1), f"a_l{n}", "mA", 1000.0, _current(n), text="reported current"
            )
            for n in PHASES
        ),
        *(
            _em_int32(
                0x12 + 2 * (n - 1), f"w_l{n}", "0.1 W", 10.0, _power(n), text="+ import, - export"
            )
            for n in PHASES
        ),
        *(
            _em_int32(0x18 + 2 * (n - 1), f"va_l{n}", "0.1 VA", 10.0, _apparent(n), text="V x I")
            for n in PHASES
        ),
        not_available(0x1E, 6),  # reactive power L1..L3
        _em_int32(0x24, "v_l_n_sys", "0.1 V", 10.0, _average_voltage, text="live phases"),
        not_available(0x26, 2),  # V L-L sys
        _em_int32(0x28, "w_sys", "0.1 W", 10.0, _total_power, text="+ import, - export"),
        _em_int32(0x2A, "va_sys", "0.1 VA", 10.0, _total_apparent, text="sum of V x I"),
        not_available(0x2C, 2),  # var sys
        *(
            Register(
                0x2E + n - 1,
                f"pf_l{n}",
                RegisterType.INT16,
                "0.001",
                scale=1000.0,
                source=_phase_power_factor(n),
                description="P / S, sign of P",
            )
            for n in PHASES
        ),
        Register(0x31, "pf_sys", RegisterType.INT16, "0.001", 1000.0, _total_power_factor, "P / S"),
        not_available(0x32, 1),  # phase sequence
        Register(0x33, "hz", RegisterType.INT16, "0.1 Hz", 10.0, _frequency, "supply frequency"),
        _em_int32(0x34, "kwh_plus_tot", "0.1 kWh", 10.0, _import_kwh, text="imported"),
        not_available(0x36, 24),  # kvarh, demand, partial counters
        _em_int32(0x4E, "kwh_minus_tot", "0.1 kWh", 10.0, _export_kwh, text="exported"),
    ),
    notes=(
        "Holding or input registers (FC03, FC04), signed integers; 32-bit values low word "
        "first, as Carlo Gavazzi's EM300-series protocol specifies. 0x0000..0x004F is "
        "gap-free; line-to-line voltages, reactive quantities and the phase sequence read 0."
    ),
)


_MAPS: dict[str, RegisterMap] = {
    m.name: m for m in (EMU_PROFESSIONAL, EASTRON_SDM630, CARLO_GAVAZZI_EM340)
}


def available_maps() -> tuple[RegisterMap, ...]:
    """Every meter the appliance can emulate, in the order the settings page lists them."""
    return tuple(_MAPS.values())


def register_map(name: str) -> RegisterMap:
    """The map called `name` (`settings.meter.emulate`)."""
    try:
        return _MAPS[name]
    except KeyError:
        known = ", ".join(_MAPS)
        raise ConfigurationError(f"unknown meter to emulate {name!r} (known: {known})") from None
