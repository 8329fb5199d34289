"""Charge control: the re-calculated currents that steer the charger (pure, clock injected)."""
