"""Dashboard and API under load, without disturbing the P1 telegrams or the Modbus meter.

    .venv/bin/python -m bench.remote_load [--quick] [--seconds N] [--clients N]

The simulated appliance runs as `scc run --simulate` in its own process. Three runs of the same
length, one after the other: without web load (the baseline), with N dashboards (each a round
of the page's requests once a second, as dashboard.js polls), and with N clients that poll
without pause (a flood: what a misbehaving script on the home network could do). In each, this
process times the P1 telegrams on the appliance's P1 TCP port (arrival of each
telegram's `/`) and polls the EMU Professional block over Modbus TCP 10 times a second. The
web clients run in a third process (so their own CPU use does not delay the measuring loop).
Printed: API requests/s, p50/p99, errors; telegram period median and worst deviation from
1.000 s; Modbus p50/p99 and errors. Saves bench/results/remote_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import socket
import statistics
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from appliance.settings import Settings, SettingsStore

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "remote_load.json"
SCENARIO = ROOT / "examples" / "scenarios" / "household.toml"
EMU_FIRST, EMU_COUNT = 4521, 78
MODBUS_RATE_HZ = 10.0
START_TIMEOUT_S = 60.0
WARM_UP_S = 3.0  # history fills and every part settles before measuring
_P1_PORT = re.compile(r"P1 telegrams on tcp://127\.0\.0\.1:(\d+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- the web clients (a separate process) ---------------------------------------------------

# What the dashboard's script asks for once a second (dashboard.js: tick()).
DASHBOARD_ROUND = (
    "/api/readings",
    "/api/reported",
    "/api/control",
    "/api/health",
    "/api/leds",
    "/api/panel.png",
)


@dataclass
class WebStats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0


async def web_client(base: str, seconds: float, paced: bool, phase: float, stats: WebStats) -> None:
    """One dashboard tab: a round of requests once a second as the page does (`paced`), or
    without any pause (the worst a script on the home network can do)."""
    loop = asyncio.get_running_loop()
    start = loop.time() + phase
    since = 0.0
    rounds = 0
    async with aiohttp.ClientSession(base) as session:
        await asyncio.sleep(phase)
        while loop.time() - start < seconds:
            paths = [f"/api/history?since={since}", *DASHBOARD_ROUND]
            if rounds % 60 == 0:
                paths.append("/dashboard")  # a reload now and then
            rounds += 1
            for path in paths:
                started = time.perf_counter()
                try:
                    async with session.get(path) as response:
                        body = await response.read()
                        if response.status != 200:
                            stats.errors += 1
                            continue
                except (aiohttp.ClientError, TimeoutError):
                    stats.errors += 1
                    continue
                stats.latencies_ms.append((time.perf_counter() - started) * 1000)
                if path.startswith("/api/history"):
                    times = json.loads(body)["time"]
                    since = times[-1] if times else since
            if paced:
                await asyncio.sleep(max(0.0, start + rounds - loop.time()))


async def web_load(base: str, clients: int, seconds: float, paced: bool) -> dict[str, Any]:
    stats = [WebStats() for _ in range(clients)]
    started = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for index, one in enumerate(stats):
            group.create_task(web_client(base, seconds, paced, index / clients, one))
    wall = time.monotonic() - started
    latencies = [value for one in stats for value in one.latencies_ms]
    return {
        "clients": clients,
        "requests": len(latencies),
        "requests_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99),
        "errors": sum(one.errors for one in stats),
    }


# --- what this process measures -------------------------------------------------------------


async def time_telegrams(port: int, seconds: float) -> list[float]:
    """Arrival times (monotonic) of each telegram's first byte on the P1 TCP stream."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    arrivals: list[float] = []
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), left)
            except TimeoutError:
                break
            if not chunk:
                break
            if b"/" in chunk:  # a telegram's header; "/" appears nowhere else in it
                arrivals.append(time.monotonic())
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return arrivals


async def poll_modbus(port: int, seconds: float) -> tuple[list[float], int]:
    """A charger reading the EMU block 10 times a second: response times (ms) and errors."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    latencies: list[float] = []
    errors = polls = 0
    try:
        while loop.time() - start < seconds:
            polls += 1
            tid = polls & 0xFFFF
            sent = time.perf_counter()
            writer.write(struct.pack(">HHHBBHH", tid, 0, 6, 1, 3, EMU_FIRST, EMU_COUNT))
            try:
                header = await asyncio.wait_for(reader.readexactly(7), 1.0)
                body = await asyncio.wait_for(
                    reader.readexactly(int.from_bytes(header[4:6], "big") - 1), 1.0
                )
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                errors += 1
                break
            latencies.append((time.perf_counter() - sent) * 1000)
            if int.from_bytes(header[:2], "big") != tid or body[:2] != bytes([3, 2 * EMU_COUNT]):
                errors += 1
            await asyncio.sleep(max(0.0, start + polls / MODBUS_RATE_HZ - loop.time()))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return latencies, errors


def telegram_summary(arrivals: list[float]) -> dict[str, Any]:
    periods = [b - a for a, b in itertools.pairwise(arrivals)]
    if not periods:
        return {"telegrams": len(arrivals), "period_median_s": None, "worst_deviation_ms": None}
    return {
        "telegrams": len(arrivals),
        "period_median_s": statistics.median(periods),
        "worst_deviation_ms": max(abs(p - 1.0) for p in periods) * 1000,
    }


async def measure(
    p1_port: int, modbus_port: int, seconds: float, web: asyncio.Task[dict[str, Any]] | None
) -> dict[str, Any]:
    telegrams = asyncio.create_task(time_telegrams(p1_port, seconds))
    latencies, errors = await poll_modbus(modbus_port, seconds)
    result: dict[str, Any] = {
        "p1": telegram_summary(await telegrams),
        "modbus": {
            "requests": len(latencies),
            "p50_ms": statistics.median(latencies) if latencies else None,
            "p99_ms": percentile(latencies, 0.99),
            "errors": errors,
        },
    }
    if web is not None:
        result["web"] = await web
    return result


# --- the appliance process ------------------------------------------------------------------


@dataclass
class Appliance:
    process: asyncio.subprocess.Process
    web_url: str
    modbus_port: int
    p1_port: int


async def _drain(stream: asyncio.StreamReader, found: asyncio.Future[int]) -> None:
    """Read the appliance's log (so it never blocks on a full pipe); find the P1 port in it."""
    while line := await stream.readline():
        match = _P1_PORT.search(line.decode(errors="replace"))
        if match and not found.done():
            found.set_result(int(match.group(1)))


async def start_appliance(state_dir: Path, stack: contextlib.AsyncExitStack) -> Appliance:
    modbus_port, web_port = free_port(), free_port()
    data = Settings().model_dump()
    data["meter"]["modbus_port"] = modbus_port
    data["remote"]["read_only_open"] = True
    SettingsStore(state_dir / "settings.json").save(Settings.model_validate(data))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from appliance.cli import main; main()",
        "run",
        "--simulate",
        str(SCENARIO),
        "--state-dir",
        str(state_dir),
        "--web-port",
        str(web_port),
        "--log-level",
        "INFO",  # the P1 TCP port is logged at INFO
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )

    async def stop() -> None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await asyncio.wait_for(process.wait(), 20)

    stack.push_async_callback(stop)
    assert process.stderr is not None
    p1_port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    drain = asyncio.create_task(_drain(process.stderr, p1_port))
    stack.push_async_callback(_cancel, drain)
    web_url = f"http://127.0.0.1:{web_port}"
    async with asyncio.timeout(START_TIMEOUT_S):
        port = await p1_port
        async with aiohttp.ClientSession() as session:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(web_url + "/api/readings") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.2)
        while True:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", modbus_port)
                writer.close()
                break
            await asyncio.sleep(0.2)
    return Appliance(process, web_url, modbus_port, port)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def run_web_worker(base: str, clients: int, seconds: float, paced: bool) -> dict[str, Any]:
    """The web load in its own process; its result comes back as JSON on stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.remote_load",
        "--web-worker",
        base,
        "--clients",
        str(clients),
        "--seconds",
        str(seconds),
        *([] if paced else ["--flood"]),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError("the web load process failed")
    result: dict[str, Any] = json.loads(out)
    return result


async def run(seconds: float, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        async with contextlib.AsyncExitStack() as stack:
            appliance = await start_appliance(Path(state), stack)
            await asyncio.sleep(WARM_UP_S)
            ports = appliance.p1_port, appliance.modbus_port
            baseline = await measure(*ports, seconds, None)
            runs = {}
            for name, paced in (("dashboards", True), ("flood", False)):
                web = asyncio.create_task(
                    run_web_worker(appliance.web_url, clients, seconds, paced)
                )
                runs[name] = await measure(*ports, seconds, web)
    return {
        "seconds": seconds,
        "clients": clients,
        "baseline": baseline,
        **runs,
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def print_table(result: dict[str, Any]) -> None:
    runs = [result["baseline"], result["dashboards"], result["flood"]]
    webs = [run.get("web") for run in runs]

    def web_cell(web: dict[str, Any] | None, text: str) -> str:
        return "–" if web is None else text

    rows: list[tuple[str, list[str]]] = [
        ("API requests/s", [web_cell(w, _fmt(w and w["requests_per_s"], 0)) for w in webs]),
        (
            "API p50 / p99 (ms)",
            [
                web_cell(w, f"{_fmt(w and w['p50_ms'], 1)} / {_fmt(w and w['p99_ms'], 1)}")
                for w in webs
            ],
        ),
        ("API errors", [web_cell(w, str(w and w["errors"])) for w in webs]),
        ("telegrams", [str(r["p1"]["telegrams"]) for r in runs]),
        ("telegram period median (s)", [_fmt(r["p1"]["period_median_s"], 4) for r in runs]),
        ("telegram worst deviation (ms)", [_fmt(r["p1"]["worst_deviation_ms"], 1) for r in runs]),
        (
            "Modbus p50 / p99 (ms)",
            [f"{_fmt(r['modbus']['p50_ms'])} / {_fmt(r['modbus']['p99_ms'])}" for r in runs],
        ),
        ("Modbus errors", [str(r["modbus"]["errors"]) for r in runs]),
    ]
    clients = result["clients"]
    print(f"\nRemote load: {result['seconds']:.0f} s per column, appliance in its own process")
    heads = ("no web load", f"{clients} dashboards", f"{clients} flooding")
    print(f"{'':31}" + "".join(f"{h:>17}" for h in heads))
    for name, cells in rows:
        print(f"{name:31}" + "".join(f"{c:>17}" for c in cells))
    print(f"load average {result['load_average_1min']:.2f} on {result['cpu_count']} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per run instead of 60 s")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--web-worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--flood", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    if args.web_worker:
        print(
            json.dumps(
                asyncio.run(web_load(args.web_worker, args.clients, seconds, not args.flood))
            )
        )
        return
    result = asyncio.run(run(seconds, args.clients))
    print_table(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"saved {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
