"""The `scc` command line. Each sub-command lives in its own module with a `register` function."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from appliance import __version__
from appliance.errors import ApplianceError

# Sub-command modules under appliance.cli, in the order `scc --help` lists them.
COMMANDS: tuple[str, ...] = (
    "run",
    "check_settings",
    "screens",
    "panel",
    "modbus_maps",
    "modbus_log",
    "measure",
    "bundle",
    "simulate_day",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scc",
        description="Smart charge controller and P1 current sensor on a Raspberry Pi HAT.",
    )
    parser.add_argument("--version", action="version", version=f"scc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"appliance.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ApplianceError as exc:
        print(f"scc: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
