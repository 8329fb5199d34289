"""Firmware update and factory reset."""
