"""`scc modbus-log`: what the charger asked the emulated meter, from the running appliance.

The appliance answers on a Unix socket in its state directory (`modbus-log.sock`) with the
request log as JSON; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import json
import socket
from typing import Any

from appliance.cli.common import add_state_dir, state_dir
from appliance.errors import ApplianceError
from appliance.modbus.log import RequestRecord, format_records
from appliance.runtime.modbus import log_socket_path

TIMEOUT_S = 3.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "modbus-log", help="show the Modbus requests the charger made (newest last)"
    )
    add_state_dir(parser)
    parser.add_argument("--simulate", action="store_true", help="use the simulation state dir")
    parser.add_argument("-n", "--lines", type=int, default=40, help="how many requests (40)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON")
    parser.set_defaults(handler=run)


def fetch_log(path: str) -> dict[str, Any]:
    """Read the log snapshot from the appliance's socket."""
    chunks: list[bytes] = []
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(TIMEOUT_S)
            client.connect(path)
            while chunk := client.recv(65536):
                chunks.append(chunk)
    except FileNotFoundError:
        raise ApplianceError(f"no Modbus log at {path}: is the appliance running?") from None
    except OSError as exc:
        raise ApplianceError(f"cannot read the Modbus log at {path}: {exc}") from exc
    try:
        data: dict[str, Any] = json.loads(b"".join(chunks))
    except json.JSONDecodeError as exc:
        raise ApplianceError(f"the Modbus log at {path} is not valid JSON: {exc}") from exc
    return data


def run(args: argparse.Namespace) -> int:
    path = log_socket_path(state_dir(args, args.simulate))
    data = fetch_log(str(path))
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    records = [RequestRecord.from_json(r) for r in data["records"]][-max(args.lines, 0) :]
    print(format_records(records))
    print(f"{data['total']} requests, {data['errors']} not answered with data")
    hints = sorted({r.hint for r in records if r.hint})
    for hint in hints:
        print(f"note: {hint}")
    return 0
