"""Metering accuracy of both ADCs through the real drivers and their fake chips.

    .venv/bin/python -m bench.accuracy [--quick]

For every case a scenario puts the same load on all three phases of a star grid; the fake chip
turns it into SPI answers, the driver into sample blocks, the engine into readings. Errors are
against the true values of the simulated primaries (appliance.sim.reference), worst phase and
worst window. Prints tables and saves bench/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.grid import Direction, GridReading
from appliance.metering import EngineState, MeteringConfig, measure_window
from appliance.settings import Settings
from appliance.sim.reference import true_window
from appliance.sim.scenario import GridSpec, LoadSpec, Scenario
from appliance.sim.signals import ScenarioSignals
from drivers.adc import open_simulated_adc
from drivers.adc.base import AdcDriver

RESULTS = Path(__file__).parent / "results" / "accuracy.json"
ADCS = ("mcp3208", "ads131m04")
CURRENTS_A = (1.0, 2.0, 6.0, 16.0, 32.0, 40.0)
POWER_FACTORS = (1.0, 0.5, 0.2)  # lagging
WAVEFORMS: dict[str, dict[int, float]] = {
    "sine": {},
    "ev_charger": {3: 0.03, 5: 0.03, 7: 0.02, 11: 0.01},  # THD 4.8 %
    "rectifier": {3: 0.8, 5: 0.6},
}
FREQUENCIES_HZ = (49.8, 50.0, 50.2)
# The settings' default, the SCC's 1..80 A range: a 40 A rectifier-like current (crest factor
# about 1.8) fits the ADS131M04's +-1.2 V at 20 ohm; at 40 ohm it clips (and is flagged).
BURDEN_OHM = 20.0
WINDOWS = 2

# Targets from the issue: current error (% of reading) at 1 A and from 2 A up, per ADC.
CURRENT_TARGET_PCT = {"mcp3208": (1.5, 0.5), "ads131m04": (0.3, 0.1)}
POWER_TARGET_PCT_OF_S = 1.0
FREQUENCY_TARGET_MHZ = 5.0
REALTIME_TARGET = 200.0


@dataclass(frozen=True)
class Case:
    adc: str
    current_a: float
    power_factor: float
    waveform: str
    frequency_hz: float


@dataclass(frozen=True)
class Result:
    case: Case
    current_error_pct: float  # worst |measured/true - 1| over phases and windows
    power_error_pct_of_s: float  # worst |P - P_true| / S_true
    direction_ok: bool  # every phase, every window
    frequency_error_mhz: float
    engine_s: float  # median engine time per window
    flags: tuple[str, ...]  # every fault seen in any window (none expected)


def scenario_for(case: Case) -> Scenario:
    return Scenario(
        name="bench",
        network="star",
        grid=GridSpec(frequency_hz=case.frequency_hz),
        loads=[
            LoadSpec(
                name="load",
                phase="all",
                current_a=case.current_a,
                power_factor=case.power_factor,
                harmonics=WAVEFORMS[case.waveform],
            )
        ],
    )


def settings_for(adc: str) -> Settings:
    base = Settings()
    metering = base.metering.model_dump() | {"adc": adc, "burden_ohm": BURDEN_OHM}
    return Settings.model_validate(base.model_dump() | {"metering": metering})


def open_adc(adc: str, signals: ScenarioSignals, seed: int) -> AdcDriver:
    return open_simulated_adc(
        adc, signals, seed, burden_ohm=BURDEN_OHM, ct_ratio=float(Settings().grid.ct_ratio)
    )


def run_windows(
    adc: str, signals: ScenarioSignals, windows: int, seed: int = 1
) -> list[tuple[GridReading, float, float]]:
    """(reading, engine seconds, block start time) for consecutive 1-s windows.

    The blocks are read first and the driver closed before the engine runs: the drivers keep
    reading in a background thread, which would otherwise share the core being timed.
    """
    config = MeteringConfig.from_settings(settings_for(adc))
    driver = open_adc(adc, signals, seed)
    try:
        blocks = [driver.read_block(1.0) for _ in range(windows)]
    finally:
        driver.close()
    state = EngineState()
    out = []
    for index, block in enumerate(blocks):
        start = time.perf_counter()
        reading, state = measure_window(
            block, config, state, monotonic_s=float(index), wall_time_s=0.0
        )
        out.append((reading, time.perf_counter() - start, float(block.times_s[0, 0])))
    return out


def run_case(case: Case, windows: int) -> Result:
    signals = ScenarioSignals(scenario_for(case))
    current_err = power_err = freq_err = 0.0
    direction_ok = True
    costs = []
    flags: set[str] = set()
    for reading, cost, start in run_windows(case.adc, signals, windows):
        flags |= {fault.value for fault in reading.all_faults()}
        truth = true_window(signals, start)
        costs.append(cost)
        for measured, true in zip(reading.phases, truth.phases, strict=True):
            current_err = max(current_err, abs(measured.current_a / true.current_a - 1) * 100)
            power_err = max(
                power_err, abs(measured.power_w - true.power_w) / true.apparent_power_va * 100
            )
            direction_ok &= measured.direction is Direction.IMPORT
        if reading.frequency_hz is None:
            freq_err = math.inf
        else:
            freq_err = max(freq_err, abs(reading.frequency_hz - case.frequency_hz) * 1000)
    return Result(
        case,
        current_err,
        power_err,
        direction_ok and not flags,
        freq_err,
        statistics.median(costs),
        tuple(sorted(flags)),
    )


def low_current_checks(adc: str, windows: int) -> dict[str, Any]:
    """'none' below 0.15 A, and no flapping in the hysteresis band or at 1 A, PF 0.2."""
    out: dict[str, Any] = {}
    for label, amps, pf, expected in (
        ("0.10 A", 0.10, 1.0, {"none"}),
        ("0.14 A", 0.14, 1.0, {"none"}),
        ("0.17 A (band)", 0.17, 1.0, None),  # either, as long as it holds
        ("1 A PF 0.2", 1.0, 0.2, {"import"}),
    ):
        case = Case(adc, amps, pf, "sine", 50.0)
        seen = [
            [p.direction.value for p in r.phases]
            for r, _, _ in run_windows(adc, ScenarioSignals(scenario_for(case)), windows)
        ]
        flat = {d for row in seen for d in row}
        out[label] = {
            "directions": sorted(flat),
            "flapping": len(flat) > 1,
            "ok": len(flat) == 1 and (expected is None or flat == expected),
        }
    return out


def cases(quick: bool) -> list[Case]:
    if quick:
        grid = itertools.product(
            ADCS, (1.0, 16.0, 40.0), (1.0, 0.2), ("sine", "rectifier"), (50.0,)
        )
    else:
        grid = itertools.product(ADCS, CURRENTS_A, POWER_FACTORS, WAVEFORMS, FREQUENCIES_HZ)
    return [Case(*values) for values in grid]


def summarise(results: list[Result]) -> list[dict[str, Any]]:
    rows = []
    for adc, amps in itertools.product(ADCS, sorted({r.case.current_a for r in results})):
        chosen = [r for r in results if r.case.adc == adc and r.case.current_a == amps]
        if not chosen:
            continue
        at_1a, from_2a = CURRENT_TARGET_PCT[adc]
        target = at_1a if amps < 2.0 else from_2a
        current = max(r.current_error_pct for r in chosen)
        power = max(r.power_error_pct_of_s for r in chosen)
        freq = max(r.frequency_error_mhz for r in chosen)
        rows.append(
            {
                "adc": adc,
                "current_a": amps,
                "cases": len(chosen),
                "current_error_pct": current,
                "current_target_pct": target,
                "power_error_pct_of_s": power,
                "direction_ok": all(r.direction_ok for r in chosen),
                "frequency_error_mhz": freq,
                "pass": current <= target
                and power <= POWER_TARGET_PCT_OF_S
                and freq <= FREQUENCY_TARGET_MHZ
                and all(r.direction_ok for r in chosen),
            }
        )
    return rows


def print_tables(rows: list[dict[str, Any]], results: list[Result], low: dict[str, Any]) -> None:
    print("Worst case over PF x waveform x frequency, per ADC and current:")
    print(
        f"{'ADC':10} {'I (A)':>6} {'cases':>5} {'I err %':>8} {'target':>7} "
        f"{'P err %S':>8} {'dir':>4} {'f err mHz':>9}  result"
    )
    for row in rows:
        print(
            f"{row['adc']:10} {row['current_a']:6.1f} {row['cases']:5d} "
            f"{row['current_error_pct']:8.3f} {row['current_target_pct']:7.2f} "
            f"{row['power_error_pct_of_s']:8.3f} {'ok' if row['direction_ok'] else 'BAD':>4} "
            f"{row['frequency_error_mhz']:9.3f}  {'pass' if row['pass'] else 'FAIL'}"
        )
    print("\nWorst case per waveform and power factor (current error %, power error % of S):")
    for adc in ADCS:
        for wave, pf in itertools.product(WAVEFORMS, POWER_FACTORS):
            chosen = [
                r
                for r in results
                if r.case.adc == adc and r.case.waveform == wave and r.case.power_factor == pf
            ]
            if chosen:
                print(
                    f"  {adc:10} {wave:11} PF {pf:3.1f}: "
                    f"I {max(r.current_error_pct for r in chosen):6.3f} %  "
                    f"P {max(r.power_error_pct_of_s for r in chosen):6.3f} %S"
                )
    print("\nDirection at low current (all phases, all windows):")
    for adc, checks in low.items():
        for label, check in checks.items():
            print(
                f"  {adc:10} {label:14} {','.join(check['directions']):14} "
                f"{'FLAPPING' if check['flapping'] else 'steady'} "
                f"{'ok' if check['ok'] else 'WRONG'}"
            )


def engine_cost(results: list[Result]) -> dict[str, dict[str, float]]:
    out = {}
    for adc in ADCS:
        costs = [r.engine_s for r in results if r.case.adc == adc]
        if costs:
            median = statistics.median(costs)
            out[adc] = {
                "median_ms_per_window": median * 1000,
                "max_ms_per_window": max(costs) * 1000,
                "realtime_factor": 1.0 / median,
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small subset, in seconds")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    windows = 1 if args.quick else WINDOWS
    print(
        f"burden {BURDEN_OHM:g} ohm, CT 2000:1, {windows} window(s) per case, "
        "star grid, the load on L1, L2 and L3"
    )
    workers = 1 if args.quick else os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(run_case, cases(args.quick), itertools.repeat(windows)))
        low_jobs = [pool.submit(low_current_checks, adc, 2 if args.quick else 6) for adc in ADCS]
        low = {adc: job.result() for adc, job in zip(ADCS, low_jobs, strict=True)}
    rows = summarise(results)
    print_tables(rows, results, low)
    cost = engine_cost(results)
    print("\nEngine cost per 1-s window (one core):")
    for adc, numbers in cost.items():
        factor = numbers["realtime_factor"]
        print(
            f"  {adc:10} median {numbers['median_ms_per_window']:.2f} ms, "
            f"max {numbers['max_ms_per_window']:.2f} ms -> {factor:.0f}x real time "
            f"({'pass' if factor >= REALTIME_TARGET else 'FAIL'}, target {REALTIME_TARGET:.0f}x)"
        )
    everything_passes = (
        all(row["pass"] for row in rows)
        and all(c["ok"] for checks in low.values() for c in checks.values())
        and all(c["realtime_factor"] >= REALTIME_TARGET for c in cost.values())
    )
    elapsed = time.perf_counter() - started
    print(f"\n{'all targets met' if everything_passes else 'TARGETS MISSED'} ({elapsed:.0f} s)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "quick": args.quick,
                "burden_ohm": BURDEN_OHM,
                "windows_per_case": windows,
                "summary": rows,
                "low_current": low,
                "engine": cost,
                "all_targets_met": everything_passes,
                "cases": [asdict(r) for r in results],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"saved {RESULTS}")
    return 0 if everything_passes else 1


if __name__ == "__main__":
    raise SystemExit(main())
