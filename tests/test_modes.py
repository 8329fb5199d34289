from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.modes import ChargeMode, ModeKind, available_modes, capacity_max_kw


def test_manual_mode_list_for_three_phases_32a() -> None:
    labels = [mode.label for mode in available_modes(3, 32)]
    assert labels[:4] == ["ECO+ (PV only)", "ECO (PV + 6 A)", "CAPACITY 4 kW", "CAPACITY 5 kW"]
    assert labels[-1] == "CAPACITY 22 kW"


def test_capacity_list_bounded_by_charger() -> None:
    assert capacity_max_kw(1, 32) == 7  # 1 x 230 V x 32 A = 7.36 kW
    assert capacity_max_kw(3, 16) == 11
    # 1 x 230 V x 16 A = 3.68 kW: below the lowest step, so no CAPACITY entry at all
    assert [m.label for m in available_modes(1, 16)] == ["ECO+ (PV only)", "ECO (PV + 6 A)"]


@given(st.sampled_from(["eco+", "eco", *[f"capacity:{k}" for k in range(4, 23)]]))
def test_text_form_round_trips(text: str) -> None:
    assert ChargeMode.parse(text).to_str() == text


@pytest.mark.parametrize("text", ["capacity:3", "capacity:23", "capacity:x", "turbo", ""])
def test_bad_mode_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        ChargeMode.parse(text)


def test_capacity_needs_kw() -> None:
    with pytest.raises(ValueError):
        ChargeMode(ModeKind.ECO, 5)
