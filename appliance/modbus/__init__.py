"""Modbus: declarative register maps of the meters we emulate, served by pymodbus."""
