"""`scc simulate-day SCENARIO --mode MODE`: one simulated day through the real controller.

Household, PV, an EV and a simulated charger that reads our registers run for 24 h at 1 s steps
(faster than real time); the command writes a PNG (grid power, PV, EV and reported current,
quarter-hour averages) and prints a summary.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from appliance.modes import ChargeMode, ModeKind
from appliance.sim.charger import ChargerBehaviour
from appliance.sim.day import (
    SCENARIOS,
    ApplianceSteering,
    DayMetrics,
    DayTrace,
    metrics,
    quarter_averages,
    settings_for,
    simulate_day,
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "simulate-day", help="simulate a day of charge control and plot it (PNG)"
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS), help="the simulated day")
    parser.add_argument(
        "--mode",
        type=ChargeMode.parse,
        default=ChargeMode.parse("eco+"),
        help="eco+, eco or capacity:<kW> (default eco+)",
    )
    parser.add_argument(
        "--charger",
        type=ChargerBehaviour,
        choices=list(ChargerBehaviour),
        default=ChargerBehaviour.SUBTRACTING,
        help="how the simulated charger balances",
    )
    parser.add_argument(
        "--averaging",
        choices=("quarter", "instantaneous"),
        default="quarter",
        help="CAPACITY: 15-minute average (default) or every second",
    )
    parser.add_argument("--hours", type=float, default=24.0, help="length of the run")
    parser.add_argument("--out", type=Path, default=None, help="PNG path")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    scenario = SCENARIOS[args.scenario]
    mode: ChargeMode = args.mode
    settings = settings_for(scenario, mode, args.averaging)
    steering = ApplianceSteering(settings, mode, args.charger)
    started = time.perf_counter()
    trace = simulate_day(scenario, steering, mode, seconds=int(args.hours * 3600))
    elapsed = time.perf_counter() - started
    result = metrics(trace)
    out: Path = args.out or Path(
        f"simulate-day-{scenario.name}-{mode.to_str()}.png".replace(":", "-")
    )
    plot_day(trace, mode, out)
    print_summary(trace, mode, result, elapsed, out)
    return 0


def print_summary(
    trace: DayTrace, mode: ChargeMode, result: DayMetrics, elapsed: float, out: Path
) -> None:
    hours = len(trace.grid_w) / 3600
    print(f"scenario {trace.scenario}, mode {mode.label}, {trace.steering}, {hours:.0f} h")
    print(f"  EV energy                {result.ev_energy_kwh:8.2f} kWh")
    print(f"  EV energy from PV        {100 * result.pv_share:8.1f} %")
    print(
        f"  grid import for the EV   {result.ev_grid_import_kwh:8.2f} kWh "
        f"({100 * result.ev_grid_import_share:.2f} % of its energy)"
    )
    cap = f" (cap {mode.capacity_kw} kW)" if mode.kind is ModeKind.CAPACITY else ""
    print(f"  highest quarter import   {result.max_quarter_import_kw:8.2f} kW{cap}")
    print(f"  charge starts            {result.charge_starts:8d}")
    pause = "-" if result.loss_to_pause_s is None else f"{result.loss_to_pause_s:.0f} s"
    print(f"  data loss -> pause       {pause:>8s}")
    print(f"  simulated in {elapsed:.1f} s ({len(trace.grid_w) / elapsed:,.0f}x real time)")
    print(f"  plot: {out}")


def plot_day(trace: DayTrace, mode: ChargeMode, out: Path) -> None:
    import matplotlib  # noqa: PLC0415 (heavy, only this command needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    hours = np.arange(len(trace.grid_w)) / 3600.0
    quarters = quarter_averages(np.clip(trace.grid_w, 0.0, None)) / 1000.0
    q_hours = np.arange(len(quarters) + 1) * 0.25
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 8), sharex=True)
    top.plot(hours, trace.grid_w / 1000.0, lw=0.6, color="tab:red", label="grid (+ import)")
    top.plot(hours, trace.pv_w / 1000.0, lw=0.8, color="orange", label="PV")
    top.plot(hours, trace.ev_w / 1000.0, lw=0.8, color="tab:green", label="EV")
    if len(quarters):
        top.stairs(quarters, q_hours, color="black", lw=1.2, label="15-min average import")
    if mode.kind is ModeKind.CAPACITY:
        top.axhline(mode.capacity_kw, color="purple", ls="--", lw=1, label="capacity cap")
    top.axhline(0.0, color="grey", lw=0.5)
    top.set_ylabel("kW")
    top.legend(loc="upper left", fontsize=8, ncol=3)
    top.set_title(f"{trace.scenario}: {mode.label}, {trace.steering}")
    bottom.plot(hours, trace.ev_a, lw=0.8, color="tab:green", label="EV current per phase")
    bottom.plot(
        hours,
        trace.reported_a,
        lw=0.6,
        color="tab:blue",
        alpha=0.7,
        label="reported current (highest phase)",
    )
    bottom.plot(hours, trace.offer_a, lw=0.6, color="tab:olive", label="charger offer")
    if trace.failsafe.any():
        bottom.fill_between(
            hours,
            0,
            1,
            where=trace.failsafe,
            color="red",
            alpha=0.3,
            transform=bottom.get_xaxis_transform(),
            label="fail-safe",
        )
    bottom.set_ylabel("A")
    bottom.set_xlabel("hour of day")
    bottom.set_ylim(0, max(40.0, float(np.nanmax(trace.ev_a)) + 5))
    bottom.legend(loc="upper left", fontsize=8, ncol=2)
    bottom.set_xlim(0, hours[-1] if len(hours) else 24)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
