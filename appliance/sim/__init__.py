"""Simulation: grid scenarios, household, PV, EV and chargers."""
