from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from drivers.pinmap import load_pinmap
from hardware import bom, calc
from hardware.hat.schematic import VARIANTS, Variant, build, erc_counts

HARDWARE = Path(__file__).resolve().parents[2] / "hardware"


@pytest.mark.parametrize("variant", VARIANTS)
def test_schematic_passes_erc_and_makes_a_netlist(variant: Variant, tmp_path: Path) -> None:
    circuit = build(variant)
    assert erc_counts(circuit) == (0, 0)
    target = tmp_path / f"{variant}.net"
    circuit.generate_netlist(file_=str(target), do_backup=False)
    netlist = target.read_text(encoding="utf-8")
    assert netlist.startswith("(export")
    for net in ("ADC_DRDY", "P1_TX", "P1_REQUEST_GPIO", "RS485_A", "I2C1_SDA", "CT3_ADC", "V_ADC"):
        if net == "ADC_DRDY" and variant == "mcp3208":
            continue
        assert f'(name "{net}")' in netlist


def test_schematic_wires_the_pin_map_gpios() -> None:
    pins = load_pinmap()
    circuit = build("ads131m04")
    header = next(part for part in circuit.parts if part.name == "Pi_Header")
    for role, gpio in pins.application_gpios().items():
        pin = header[f"GPIO{gpio}"]
        assert pin.is_connected(), role
        assert pin.net.name != "NC", role


def test_calculations_are_up_to_date_and_every_rule_holds() -> None:
    result = calc.calculate()
    assert (HARDWARE / "calculations.md").read_text(encoding="utf-8") == "\n".join(
        result.lines
    ) + "\n"
    failing = [check.name for check in result.checks if not check.ok]
    assert failing == []


def test_a_changed_resistor_changes_the_numbers() -> None:
    values = calc.load()
    values["leds"]["cs_r_ohm"] = 100.0  # too small: the GPIO budget rule must now fail
    result = calc.calculate(values)
    verdicts = {check.name: check.ok for check in result.checks}
    assert verdicts["CS (green), GPIO within the GPIO budget"] is False
    assert "| CS (green), GPIO | 3.3 V | 100 ohm | 12.00 mA |" in result.lines


@pytest.mark.parametrize("variant", VARIANTS)
def test_bom_is_up_to_date_and_priced(variant: Variant) -> None:
    assert bom.bom_path(variant).read_text(encoding="utf-8") == bom.render(variant)
    lines = bom.bom_lines(build(variant), bom.load_prices())
    assert sum(line.quantity for line in lines) == len(build(variant).parts)
    assert all(line.mpn and line.manufacturer for line in lines)


def test_overlay_compiles_with_dtc(tmp_path: Path) -> None:
    dtc = shutil.which("dtc")
    assert dtc, "device-tree-compiler must be installed (.ci/apt-packages)"
    target = tmp_path / "scc-hat.dtbo"
    subprocess.run(
        [
            dtc,
            "-@",
            "-q",
            "-I",
            "dts",
            "-O",
            "dtb",
            "-o",
            str(target),
            str(HARDWARE / "overlay" / "scc-hat-overlay.dts"),
        ],
        check=True,
    )
    assert target.read_bytes()[:4] == b"\xd0\x0d\xfe\xed"  # flattened device tree magic


def test_block_diagram_renders(tmp_path: Path) -> None:
    dot = shutil.which("dot")
    assert dot, "graphviz must be installed (.ci/apt-packages)"
    target = tmp_path / "diagram.svg"
    subprocess.run(
        [dot, "-Tsvg", str(HARDWARE / "block-diagram.dot"), "-o", str(target)], check=True
    )
    assert "<svg" in target.read_text(encoding="utf-8")
