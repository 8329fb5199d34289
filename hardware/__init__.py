"""The HAT design: pin map, schematic as code, calculations, overlay and EEPROM."""
