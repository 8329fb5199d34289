"""Hardware access only: each driver takes its bus or pin objects and has a fake twin."""
