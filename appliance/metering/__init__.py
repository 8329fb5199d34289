"""Metering engine: one window of samples in, one GridReading out (pure numpy, no I/O)."""

from appliance.metering.config import HAT_FRONT_ENDS, FrontEnd, MeteringConfig, Thresholds
from appliance.metering.engine import EngineState, measure_window, next_direction, no_data_reading
from appliance.metering.window import SampleWindow

__all__ = [
    "HAT_FRONT_ENDS",
    "EngineState",
    "FrontEnd",
    "MeteringConfig",
    "SampleWindow",
    "Thresholds",
    "measure_window",
    "next_direction",
    "no_data_reading",
]
