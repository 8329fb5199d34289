"""P1 output timing: the real sender (`run_p1_output`) on the simulated UART, in real time.

    .venv/bin/python -m bench.p1_timing [--quick] [--seconds N]

A window task publishes one `GridReading` per second on a monotonic grid, as the acquisition
loop does at the end of each 1-s window. The UART is a pty: the sender opens its slave with
pyserial as it opens /dev/ttyAMA0, and a reader thread on the master timestamps the first byte
of every telegram. Reported: the telegram period (median and worst
deviation from 1.000 s), the delay from the window end to the first byte, the codec's cost per
telegram, and the telegram size. Targets: period within +-10 ms, first byte within 20 ms of the
window end, telegram under 1 kB. Saves bench/results/p1_timing.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import select
import statistics
import tempfile
import threading
import time
import tty
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from appliance.clock import SystemClock
from appliance.grid import Direction, GridReading, PhaseReading, Source
from appliance.identity import DeviceIdentity
from appliance.p1.telegram import MAX_TELEGRAM_BYTES, build_telegram
from appliance.runtime.context import Hub, RuntimeContext, SettingsHolder
from appliance.runtime.p1_output import P1OutputStatus, run_p1_output
from appliance.settings import Settings, SettingsStore
from drivers.pinmap import load_pinmap

RESULTS = Path(__file__).parent / "results" / "p1_timing.json"
DEVICE = "0000008879"
TARGET_PERIOD_MS = 10.0
TARGET_FIRST_BYTE_MS = 20.0


def sample_reading(now: float, wall: float, n: int) -> GridReading:
    amps = 5.0 + (n % 30)
    phase = PhaseReading(amps, amps * 230.0, 230.0, 1.0, Direction.IMPORT)
    export = PhaseReading(3.0, -690.0, 230.0, 1.0, Direction.EXPORT)
    return GridReading(now, wall, Source.CT, (phase, export, phase))


def codec_cost_us(iterations: int) -> dict[str, float]:
    reading = sample_reading(0.0, 1_767_225_600.0, 7)
    out = {}
    for profile in ("csp1", "dsmr5"):
        start = time.perf_counter()
        for _ in range(iterations):
            build_telegram(reading, DEVICE, profile)
        out[profile] = (time.perf_counter() - start) / iterations * 1e6
    return out


class FirstByteClock(threading.Thread):
    """Reads the master side of the UART's pty and records the monotonic time at which each
    telegram's `/` arrived: what a UART would put on the wire at that moment."""

    def __init__(self, master_fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = master_fd
        self.starts: list[float] = []
        self.sizes: list[int] = []
        self._current = 0
        self._stop_r, self._stop_w = os.pipe()

    def run(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd, self._stop_r], [], [])
            now = time.monotonic()
            if self._stop_r in ready:
                return
            with contextlib.suppress(BlockingIOError):
                for byte in os.read(self.fd, 4096):
                    if byte == ord("/"):
                        self.starts.append(now)
                        if self._current:
                            self.sizes.append(self._current)
                        self._current = 0
                    self._current += 1

    def stop(self) -> None:
        os.write(self._stop_w, b"x")
        self.join()
        if self._current:
            self.sizes.append(self._current)


async def run_sender(seconds: int, state_dir: Path) -> tuple[list[float], list[float], list[int]]:
    """The sender as on the device (request line high, UART = one pty's slave); the bench
    reads the pty's master directly, so no relay thread adds latency that a UART has not."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    base = Settings()
    settings = base.with_section("p1", base.p1.model_copy(update={"port": os.ttyname(slave)}))
    factory = MockFactory()
    ctx = RuntimeContext(
        settings=SettingsHolder(SettingsStore(state_dir / "settings.json"), settings),
        hub=Hub(),
        clock=SystemClock(),
        identity=DeviceIdentity(DEVICE),
        pinmap=load_pinmap(),
        pin_factory=factory,
        state_dir=state_dir,
        simulate=False,
    )
    reader = FirstByteClock(master)
    reader.start()
    sender = asyncio.create_task(run_p1_output(ctx))
    for _ in range(500):
        status = ctx.services.get("p1_output")
        if isinstance(status, P1OutputStatus) and status.serial_open:
            break
        await asyncio.sleep(0.01)
    factory.pin(ctx.pinmap.p1_request).drive_high()  # a charger holding request high
    windows: list[float] = []
    first = time.monotonic() + 1.0
    for n in range(seconds):
        # Sleep to just before the window end, then publish exactly at it (as the ADC would).
        due = first + n
        await asyncio.sleep(max(due - time.monotonic() - 0.002, 0))
        while time.monotonic() < due:
            pass
        now = time.monotonic()
        windows.append(now)
        ctx.hub.readings.publish(sample_reading(now, time.time(), n))
    await asyncio.sleep(0.5)
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    await asyncio.to_thread(reader.stop)
    factory.close()
    os.close(slave)
    os.close(master)
    return windows, reader.starts, reader.sizes


def summarise(windows: list[float], starts: list[float], sizes: list[int]) -> dict[str, Any]:
    # The first telegram after start-up is the request-edge one; pair each window with the
    # first telegram that starts at or after it.
    delays = []
    for window in windows:
        after = [s for s in starts if s >= window]
        if after:
            delays.append((after[0] - window) * 1000)
    window_starts = [w + d / 1000 for w, d in zip(windows, delays, strict=False)]
    periods = [(b - a) * 1000 for a, b in itertools.pairwise(window_starts)]
    deviations = [abs(p - 1000.0) for p in periods]
    return {
        "windows": len(windows),
        "telegrams": len(starts),
        "period_median_ms": statistics.median(periods),
        "period_worst_deviation_ms": max(deviations),
        "first_byte_median_ms": statistics.median(delays),
        "first_byte_p95_ms": sorted(delays)[int(0.95 * (len(delays) - 1))],
        "first_byte_p99_ms": sorted(delays)[int(0.99 * (len(delays) - 1))],
        "first_byte_within_target": sum(d <= TARGET_FIRST_BYTE_MS for d in delays),
        "periods_within_target": sum(d <= TARGET_PERIOD_MS for d in deviations),
        "periods": len(periods),
        "first_byte_worst_ms": max(delays),
        "telegram_bytes_max": max(sizes) if sizes else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s instead of 60 s")
    parser.add_argument("--seconds", type=int, default=None)
    args = parser.parse_args()
    seconds = args.seconds or (10 if args.quick else 60)
    with tempfile.TemporaryDirectory() as tmp:
        windows, starts, sizes = asyncio.run(run_sender(seconds, Path(tmp)))
    summary = summarise(windows, starts, sizes)
    cost = codec_cost_us(2000)
    summary["codec_us_per_telegram"] = cost
    summary["seconds"] = seconds
    summary["load_average_1min"] = os.getloadavg()[0]
    summary["nice"] = os.nice(0)
    summary["targets"] = {
        "period_ok": summary["period_worst_deviation_ms"] <= TARGET_PERIOD_MS,
        "first_byte_ok": summary["first_byte_worst_ms"] <= TARGET_FIRST_BYTE_MS,
        "size_ok": 0 < summary["telegram_bytes_max"] < MAX_TELEGRAM_BYTES,
    }
    rows = [
        ("run", f"{seconds} s real time, {summary['telegrams']} telegrams", ""),
        ("period median", f"{summary['period_median_ms']:.3f} ms", "1000 ms"),
        (
            "period worst deviation",
            f"{summary['period_worst_deviation_ms']:.3f} ms",
            f"<= {TARGET_PERIOD_MS:.0f} ms",
        ),
        ("first byte median", f"{summary['first_byte_median_ms']:.3f} ms", ""),
        ("first byte p95", f"{summary['first_byte_p95_ms']:.3f} ms", ""),
        ("first byte p99", f"{summary['first_byte_p99_ms']:.3f} ms", ""),
        (
            "within targets",
            f"first byte {summary['first_byte_within_target']}/{len(windows)}, "
            f"period {summary['periods_within_target']}/{summary['periods']}",
            "",
        ),
        (
            "first byte worst",
            f"{summary['first_byte_worst_ms']:.3f} ms",
            f"<= {TARGET_FIRST_BYTE_MS:.0f} ms",
        ),
        ("codec csp1", f"{cost['csp1']:.1f} us/telegram", ""),
        ("codec dsmr5", f"{cost['dsmr5']:.1f} us/telegram", ""),
        ("telegram size", f"{summary['telegram_bytes_max']} bytes", f"< {MAX_TELEGRAM_BYTES}"),
    ]
    print(f"{'P1 timing':26} {'measured':36} target")
    for name, value, target in rows:
        print(f"{name:26} {value:36} {target}")
    load, nice = summary["load_average_1min"], summary["nice"]
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs, nice {nice}")
    print("targets met:", ", ".join(f"{k}={v}" for k, v in summary["targets"].items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
