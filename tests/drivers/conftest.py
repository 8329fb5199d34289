"""Fixtures for the ADC driver tests: noise-free front ends for exact codes."""

from __future__ import annotations

import dataclasses

import pytest

from drivers.adc.frontend import FrontEnd, ads131m0x_front_end, mcp3208_front_end


@pytest.fixture
def quiet_mcp_front_end() -> FrontEnd:
    return dataclasses.replace(mcp3208_front_end(), noise_v_rms=0.0)


@pytest.fixture
def quiet_ads_front_end() -> FrontEnd:
    return dataclasses.replace(ads131m0x_front_end(), noise_v_rms=0.0)
