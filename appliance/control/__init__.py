"""Charge control: the re-calculated currents that steer the charger (pure, clock injected).

Public API: `Controller.update(reading, settings, mode, now=, wall_time=) -> ReportedGrid`, its
`status` (`ControlStatus`) and `quarter_state` (`QuarterState`, persisted by the runtime).
"""

from appliance.control.controller import Controller, ControlPhase, ControlStatus
from appliance.control.quarter import QuarterState
from appliance.control.tuning import ControlTuning

__all__ = ["ControlPhase", "ControlStatus", "ControlTuning", "Controller", "QuarterState"]
