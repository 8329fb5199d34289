"""`scc run`: the appliance itself (the systemd unit runs this), or on simulated hardware."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from appliance.cli.common import add_state_dir, state_dir
from appliance.runtime.app import RunOptions, build_context, run_appliance
from appliance.runtime.context import RuntimeContext
from appliance.runtime.web import WEB_URL_SERVICE

WHERE_TIMEOUT_S = 10.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run the appliance (on the HAT, or with --simulate on simulated hardware)",
        description="Runs measurement, control, the Modbus meter, P1, the front panel and the "
        "web pages in one process. With --simulate a scenario drives fake ADC chips, the buttons "
        "and OLED live in the browser, and the serial lines are pseudo-terminals.",
    )
    parser.add_argument(
        "--simulate",
        metavar="SCENARIO",
        type=Path,
        help="run on simulated hardware fed by this scenario file (examples/scenarios/)",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulation speed, x real time (default 1)"
    )
    parser.add_argument(
        "--web-port",
        type=int,
        metavar="PORT",
        help="serve the web pages on this port (default 80, or 8080 in simulation; 0 = any free)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    add_state_dir(parser)
    parser.set_defaults(handler=run)


def configure_logging(level: str) -> None:
    # Under systemd the journal adds its own timestamps.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if "JOURNAL_STREAM" not in os.environ:
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    simulate = args.simulate is not None
    options = RunOptions(
        state_dir=state_dir(args, simulate),
        simulate=simulate,
        scenario=args.simulate,
        speed=args.speed,
        web_port=args.web_port,
    )
    ctx = build_context(options)
    try:
        asyncio.run(_main(ctx))
    except asyncio.CancelledError:
        logging.getLogger(__name__).info("stopped")
    return 0


async def _main(ctx: RuntimeContext) -> None:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    # systemd stops the service with SIGTERM: unwind every part (state saved, STOPPING sent).
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main.cancel)
    if ctx.simulate:
        where = loop.create_task(_print_where(ctx))
    try:
        await run_appliance(ctx)
    finally:
        if ctx.simulate:
            where.cancel()


async def _print_where(ctx: RuntimeContext) -> None:
    """Once the parts are up, tell a newcomer where to look."""
    async with asyncio.timeout(WHERE_TIMEOUT_S):
        while not _ready(ctx):  # noqa: ASYNC110 - parts publish plain status objects
            await asyncio.sleep(0.1)
    modbus, p1 = ctx.services["modbus"], ctx.services["p1_output"]
    web_url = ctx.services.get(WEB_URL_SERVICE, "(not listening yet: see the log)")
    lines = [
        "",
        f"  Simulated appliance, device {ctx.identity.device_number}",
        f"  Front panel, dashboard and commissioning: {web_url}",
        f"  Modbus TCP ({modbus.map_name}): 127.0.0.1:{modbus.tcp_port}"
        f"   e.g. mbpoll -m tcp -p {modbus.tcp_port} -r 4522 -c 78 -1 127.0.0.1",
        f"  Modbus RTU: {modbus.rtu_peer_path}",
        f"  P1 telegrams: serial {p1.tty_path}, TCP 127.0.0.1:{p1.tcp_port}",
        f"  State (settings): {ctx.state_dir}",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _ready(ctx: RuntimeContext) -> bool:
    modbus, p1 = ctx.services.get("modbus"), ctx.services.get("p1_output")
    return bool(modbus and modbus.tcp_port and p1 and p1.tcp_port)
