"""P1: the DSMR telegram codec (pure), the writer with its request line, P1 input."""
