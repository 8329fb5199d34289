from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from appliance.errors import SettingsError
from appliance.modes import ChargeMode
from appliance.settings import GridSettings, Settings, SettingsStore, describe_errors


def test_missing_file_gives_factory_defaults(state_dir: Path) -> None:
    settings = SettingsStore(state_dir / "settings.json").load()
    assert settings == Settings()
    assert settings.grid.ct_ratio == 2000
    assert settings.control.charge_mode == ChargeMode.parse("eco+")


def test_round_trip(state_dir: Path) -> None:
    store = SettingsStore(state_dir / "settings.json")
    changed = Settings().with_mode(ChargeMode.parse("capacity:7"))
    store.save(changed)
    assert store.load() == changed
    assert [p.name for p in state_dir.iterdir()] == ["settings.json"]  # no temp file left


def test_corrupt_file_is_a_clear_error_and_left_alone(state_dir: Path) -> None:
    path = state_dir / "settings.json"
    path.write_text('{"grid": {"phases": 3', encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid JSON"):
        SettingsStore(path).load()
    assert path.read_text(encoding="utf-8") == '{"grid": {"phases": 3'


def test_invalid_value_names_the_field(state_dir: Path) -> None:
    path = state_dir / "settings.json"
    path.write_text(json.dumps({"grid": {"max_charge_current_a": 500}}), encoding="utf-8")
    with pytest.raises(SettingsError, match=r"grid\.max_charge_current_a"):
        SettingsStore(path).load()


def test_min_above_max_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        GridSettings(max_charge_current_a=10, min_charge_current_a=16)
    assert "min charge current" in next(iter(describe_errors(info.value).values()))


def test_capacity_above_charger_limit_is_rejected() -> None:
    one_phase_16a = {"phases": 1, "network": "single", "max_charge_current_a": 16}
    with pytest.raises(ValidationError, match="exceeds"):
        Settings.model_validate({"grid": one_phase_16a, "control": {"mode": "capacity:4"}})


def test_save_failure_keeps_previous_file(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SettingsStore(state_dir / "settings.json")
    store.save(Settings())
    before = store.path.read_bytes()

    def power_cut(*_: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        store.save(Settings().with_mode(ChargeMode.parse("eco")))
    assert store.path.read_bytes() == before
    assert store.load() == Settings()
    assert [p.name for p in state_dir.iterdir()] == ["settings.json"]  # no temp file left
