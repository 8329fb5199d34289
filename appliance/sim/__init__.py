"""Simulation: grid scenarios, household, PV, EV and chargers."""

from appliance.sim.scenario import Scenario, load_scenario, parse_scenario
from appliance.sim.signals import LoadSource, PhaseCurrent, ScenarioSignals, ThreePhaseCurrents

__all__ = [
    "LoadSource",
    "PhaseCurrent",
    "Scenario",
    "ScenarioSignals",
    "ThreePhaseCurrents",
    "load_scenario",
    "parse_scenario",
]
