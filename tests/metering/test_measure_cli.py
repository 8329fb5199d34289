"""`scc measure`: JSON lines and the installer's table, from a simulated HAT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import main

SCENARIOS = Path(__file__).parents[2] / "examples" / "scenarios"


def measure(capsys: pytest.CaptureFixture[str], state_dir: Path, *args: str) -> str:
    assert main(["measure", "--state-dir", str(state_dir), "--speed", "0", *args]) == 0
    return capsys.readouterr().out


def test_json_lines_parse_and_carry_every_phase(
    capsys: pytest.CaptureFixture[str], state_dir: Path
) -> None:
    out = measure(
        capsys,
        state_dir,
        "--simulate",
        str(SCENARIOS / "mixed_phases.toml"),
        "--seconds",
        "3",
        "--json",
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    last = lines[-1]
    assert last["valid"] is True
    assert last["faults"] == []
    assert abs(last["voltage_v"] - 230.0) < 0.5
    assert abs(last["frequency_hz"] - 50.0) < 0.005
    l1, l2, l3 = last["phases"]
    assert l1["direction"] == "import"
    assert abs(l1["current_a"] - 9.0) < 0.05
    assert l2["direction"] == "export"
    assert l2["power_w"] < 0
    assert l3["direction"] == "none"
    # The net total (2 kW in on L1, 3 kW out on L2) counts as export, like a meter's register.
    assert lines[0]["export_energy_kwh"] < lines[2]["export_energy_kwh"]
    assert lines[2]["import_energy_kwh"] == 0.0


def test_the_table_tells_the_installer_what_is_wrong(
    capsys: pytest.CaptureFixture[str], state_dir: Path
) -> None:
    out = measure(
        capsys,
        state_dir,
        "--simulate",
        str(SCENARIOS / "faults.toml"),
        "--seconds",
        "8",
        "--expect-import",
    )
    assert "no CT" in out
    assert "L2: no CT plugged in" in out
    assert "L2 CT MISSING" in out
    out = measure(
        capsys,
        state_dir,
        "--simulate",
        str(SCENARIOS / "export_pv.toml"),
        "--seconds",
        "1",
        "--expect-import",
    )
    assert "REVERSED CT" in out


def test_the_ads131m04_path_and_a_single_phase_grid(
    capsys: pytest.CaptureFixture[str], state_dir: Path
) -> None:
    out = measure(
        capsys,
        state_dir,
        "--simulate",
        str(SCENARIOS / "single_phase.toml"),
        "--adc",
        "ads131m04",
        "--seconds",
        "1",
        "--json",
    )
    reading = json.loads(out)
    assert reading["phase_count"] == 1
    assert abs(reading["phases"][0]["current_a"] - 1.5) < 0.01


def test_a_bad_or_missing_scenario_is_a_clear_error(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[load]]\nphase = 7\n')
    assert main(["measure", "--simulate", str(bad), "--state-dir", str(state_dir)]) == 2
    assert "load.0.phase" in capsys.readouterr().err
    missing = str(tmp_path / "nope.toml")
    assert main(["measure", "--simulate", missing, "--state-dir", str(state_dir)]) == 2
    assert "cannot read scenario" in capsys.readouterr().err
