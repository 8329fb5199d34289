"""`scc check-settings`: validate the settings file before the service starts (systemd)."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.common import add_state_dir, settings_path, state_dir
from appliance.modbus.maps import register_map
from appliance.settings import SettingsStore


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "check-settings", help="validate the settings file and print the settings in force"
    )
    add_state_dir(parser)
    parser.add_argument("--simulate", action="store_true", help="use the simulation state dir")
    parser.add_argument("--quiet", action="store_true", help="print nothing when valid")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = settings_path(state_dir(args, args.simulate))
    settings = SettingsStore(path).load()  # raises SettingsError with the reason
    register_map(settings.meter.emulate)  # raises ConfigurationError for an unknown meter
    if not args.quiet:
        origin = path if path.exists() else "factory defaults (no settings file yet)"
        print(f"settings valid: {origin}")
        print(settings.model_dump_json(indent=2))
    return 0
