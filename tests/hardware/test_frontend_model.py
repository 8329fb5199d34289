"""The fake chips' analog front end must be the HAT as designed (hardware/values.toml)."""

from __future__ import annotations

import pytest

from drivers.adc.frontend import FrontEnd, ads131m0x_front_end, mcp3208_front_end
from hardware import calc
from hardware.hat.schematic import Variant


@pytest.mark.parametrize(
    ("variant", "front_end"),
    [("mcp3208", mcp3208_front_end()), ("ads131m04", ads131m0x_front_end())],
)
def test_front_end_matches_the_hat(variant: Variant, front_end: FrontEnd) -> None:
    values = calc.load()
    ct = values["ct"]
    assert front_end.filter_r_ohm == ct["filter_r_ohm"]
    assert front_end.filter_c_f == ct["filter_c_f"]
    assert front_end.ct_ratio == ct["ratio"]
    assert front_end.burden_ohm == sum(ct["burden_ohm"])
    designed = calc.voltage_reference_v(values, variant) / values["voltage_reference"]["mains_v"]
    modelled = front_end.volts_per_line_volt
    assert modelled == pytest.approx(designed, rel=0.005)  # E96 values; calibration trims


def test_empty_jack_levels_match_the_hat() -> None:
    values = calc.load()
    assert mcp3208_front_end().unplugged_v == 0.0
    assert ads131m0x_front_end().unplugged_v == pytest.approx(
        calc.ads_empty_jack_v(values), abs=1e-3
    )
