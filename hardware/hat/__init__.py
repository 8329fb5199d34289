"""Schematic of the HAT as SKiDL code."""
