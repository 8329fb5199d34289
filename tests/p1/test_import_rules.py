"""The pure cores of P1 and the LED patterns import no driver, server or hardware library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "appliance/p1/obis.py",
    "appliance/p1/telegram.py",
    "appliance/p1/schedule.py",
    "appliance/p1/reader.py",
    "appliance/panel/leds.py",
]
FORBIDDEN = ("drivers", "appliance.runtime", "gpiozero", "serial", "asyncio", "socket", "pymodbus")


@pytest.mark.parametrize("path", PURE)
def test_pure_module_imports(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    bad = {m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{path} imports {bad}"
