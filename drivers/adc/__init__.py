"""ADC drivers (MCP3208, ADS131M0x) and their byte-exact fake chips."""
