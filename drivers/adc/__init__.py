"""ADC drivers (MCP3208, ADS131M0x) and their byte-exact fake chips."""

from drivers.adc.factory import ADC_KINDS, open_adc, open_simulated_adc

__all__ = ["ADC_KINDS", "open_adc", "open_simulated_adc"]
