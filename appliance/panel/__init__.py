"""Front panel: menu state machine, screens, LED patterns, button decoding."""
