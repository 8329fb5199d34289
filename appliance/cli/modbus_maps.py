"""`scc modbus-maps`: list the meters the appliance emulates, or print their register tables."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.modbus.docs import maps_markdown
from appliance.modbus.maps import available_maps


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "modbus-maps", help="list the emulated meters, or print their register maps"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print docs/modbus-maps.md (all register tables)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(maps_markdown(), end="")
        return 0
    for register_map in available_maps():
        print(f"{register_map.name:<20} {register_map.title}")
    return 0
