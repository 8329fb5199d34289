"""Metering engine: one window of samples in, one GridReading out (pure numpy, no I/O)."""
