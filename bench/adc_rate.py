"""Sample rate per channel of both ADCs, and what one simulated second costs in real time.

    .venv/bin/python -m bench.adc_rate [--quick]

The rates come from the fake chips' bus-timing model of a Raspberry Pi 4 (spidev ioctl
overhead, the kernel's chip-select delay, SPI clock, ADS131M0x frame grid), run through the
real drivers; docs/adc.md derives the same numbers by hand. The cost column is this machine's
wall and CPU time for one simulated second (driver + fake chip + front-end model). Saves
bench/results/adc_rate.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from drivers.adc import open_simulated_adc
from drivers.adc.fake_mcp3208 import DEFAULT_CS_GAP_S, DEFAULT_MESSAGE_OVERHEAD_S, FakeMcp3208
from drivers.adc.mcp3208 import Mcp3208
from drivers.adc.signals import InputFaults
from drivers.virtual_time import VirtualClock

RESULTS = Path(__file__).parent / "results" / "adc_rate.json"


class Mains:
    """230 V and 16 A on each CT, 50 Hz, PF 0.9 lagging."""

    def primary(self, times_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        angle = 2 * math.pi * 50.0 * times_s
        out = np.empty((4, len(times_s)))
        out[0] = 230 * math.sqrt(2) * np.sin(angle)
        out[1:] = 16 * math.sqrt(2) * np.sin(angle - math.acos(0.9))
        return out

    def faults(self, time_s: float) -> InputFaults:
        return InputFaults()


def measure(kind: str, seconds: float, spi_clock_hz: int | None = None) -> dict[str, float]:
    clock = VirtualClock(0.0)
    if spi_clock_hz is None:
        adc = open_simulated_adc(kind, Mains(), seed=1, clock=clock)
    else:
        chip = FakeMcp3208(
            Mains(), np.random.default_rng(1), spi_clock_hz=spi_clock_hz, clock=clock
        )
        adc = Mcp3208(chip, clock.monotonic)
    try:
        adc.read_block(0.1)  # warm up: handshake and the reader thread
        start_virtual, start_real = clock.monotonic(), time.perf_counter()
        start_cpu = time.process_time()  # all threads: the reader thread does the work
        samples = 0
        lost = 0
        for _ in range(int(seconds)):
            block = adc.read_block(1.0)
            samples += block.sample_count
            lost += block.crc_errors + block.missed_frames
        real = time.perf_counter() - start_real
        cpu = time.process_time() - start_cpu
        simulated = clock.monotonic() - start_virtual
    finally:
        adc.close()
    return {
        "rate_per_channel_hz": samples / int(seconds),
        "channels": len(adc.roles),
        "lost_frames": lost,
        "real_s_per_simulated_s": real / simulated,
        "cpu_s_per_simulated_s": cpu / simulated,
        "speed_x_real_time": simulated / real,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 simulated seconds per chip")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else 5.0
    cases = {
        "mcp3208 @ 2 MHz (pin map)": measure("mcp3208", seconds),
        "mcp3208 @ 1 MHz": measure("mcp3208", seconds, spi_clock_hz=1_000_000),
        "ads131m04 OSR 1024": measure("ads131m04", seconds),
    }
    header = f"{'ADC':28} {'S/s per ch':>11} {'ch':>3} {'lost':>5}"
    print(f"{header} {'wall s/sim s':>13} {'CPU s/sim s':>12} {'x real':>7}")
    for name, row in cases.items():
        print(
            f"{name:28} {row['rate_per_channel_hz']:11.0f} {row['channels']:3.0f} "
            f"{row['lost_frames']:5.0f} {row['real_s_per_simulated_s']:13.3f} "
            f"{row['cpu_s_per_simulated_s']:12.3f} "
            f"{row['speed_x_real_time']:7.1f}"
        )
    model = {
        "mcp_message_overhead_s": DEFAULT_MESSAGE_OVERHEAD_S,
        "mcp_cs_gap_s": DEFAULT_CS_GAP_S,
        "mcp_frame_bits": 24,
        "ads_fmod_hz": 4_096_000,
        "ads_osr": 1024,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"seconds": seconds, "model": model, "cases": cases}, indent=2))
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
