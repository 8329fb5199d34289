"""Options shared by several sub-commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_STATE_DIR = Path(os.environ.get("STATE_DIRECTORY", "/var/lib/scc"))
SIMULATION_STATE_DIR = Path(".scc-state")


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"where settings and the device number live (default {DEFAULT_STATE_DIR}, "
        f"or {SIMULATION_STATE_DIR} with --simulate)",
    )


def state_dir(args: argparse.Namespace, simulate: bool) -> Path:
    chosen: Path | None = args.state_dir
    if chosen is not None:
        return chosen
    return SIMULATION_STATE_DIR if simulate else DEFAULT_STATE_DIR


def settings_path(directory: Path) -> Path:
    return directory / "settings.json"
