from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import main


def test_valid_settings_pass(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-settings", "--state-dir", str(state_dir)]) == 0
    assert "factory defaults" in capsys.readouterr().out


def test_invalid_value_fails_with_the_field_named(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (state_dir / "settings.json").write_text(json.dumps({"grid": {"ct_ratio": 5}}))
    assert main(["check-settings", "--state-dir", str(state_dir), "--quiet"]) == 2
    assert "grid.ct_ratio" in capsys.readouterr().err


def test_unknown_meter_fails(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (state_dir / "settings.json").write_text(json.dumps({"meter": {"emulate": "acme_9000"}}))
    assert main(["check-settings", "--state-dir", str(state_dir), "--quiet"]) == 2
    assert "unknown meter to emulate 'acme_9000'" in capsys.readouterr().err
