"""scc-appliance: the CSP1+ current sensor and the Smart Charge Controller on a Raspberry Pi HAT."""

__version__ = "0.1.0"
