"""`scc measure`: one line per second of grid readings, for installers checking the CT wiring.

Formatting (`format_reading`, `wiring_notes`; JSON from `appliance.serialize`) is independent
of where the readings come from; a source is just an iterator of `GridReading`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any, TextIO

from appliance.cli.common import add_state_dir, settings_path, state_dir
from appliance.clock import Clock, SystemClock
from appliance.grid import Direction, Fault, GridReading
from appliance.metering import EngineState, MeteringConfig
from appliance.p1.source import parse_source
from appliance.p1.stream import p1_readings
from appliance.runtime.acquisition import Meter, failure_reading, hat_opener, scenario_opener
from appliance.serialize import reading_to_dict
from appliance.settings import Settings, SettingsStore
from appliance.sim.scenario import load_scenario
from appliance.sim.signals import ScenarioSignals
from drivers.errors import DriverError
from drivers.pinmap import load_pinmap

_FAULT_WORDS = {
    Fault.CT_MISSING: "CT MISSING",
    Fault.CLIPPED: "CLIPPED (over range)",
    Fault.NO_VOLTAGE: "NO VOLTAGE (L1 reference < 50 V)",
    Fault.BAD_WINDOW: "BAD WINDOW (ADC link errors)",
    Fault.NO_DATA: "NO DATA (ADC not answering)",
    Fault.BAD_TELEGRAM: "BAD TELEGRAM",
}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "measure",
        help="print the grid readings once per second (check the CT wiring)",
        description="Per phase current, power, power factor and direction, plus voltage, "
        "frequency and faults, once per second. On the Pi from the HAT; with --simulate from "
        "a scenario file.",
    )
    add_state_dir(parser)
    parser.add_argument("--simulate", metavar="SCENARIO", type=Path, help="scenario TOML file")
    parser.add_argument("--speed", type=float, default=1.0, help="x real time (0 = no pacing)")
    parser.add_argument("--seconds", type=int, default=0, help="stop after N readings (0 = run)")
    parser.add_argument("--adc", choices=("mcp3208", "ads131m04"), help="override the setting")
    parser.add_argument("--seed", type=int, help="simulation seed (default: the scenario's)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.add_argument(
        "--p1",
        metavar="SOURCE",
        help="read a smart meter's P1 telegrams instead: a serial port or tcp://host:port",
    )
    parser.add_argument(
        "--expect-import",
        action="store_true",
        help="no generation on site right now: any export means a reversed CT",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up per call: tests and pipes may replace sys.stdout
    settings = SettingsStore(settings_path(state_dir(args, args.simulate is not None))).load()
    if args.adc:
        settings = settings.with_section(
            "metering", settings.metering.model_copy(update={"adc": args.adc})
        )
    if args.p1:
        source = parse_source(args.p1, settings.metering.p1_baudrate)
        readings = p1_readings(source, SystemClock(), settings.metering.stale_after_s)
    else:
        readings = ct_readings(args, settings, SystemClock())
    limit = args.seconds
    if args.simulate is not None and not limit:
        duration = load_scenario(args.simulate).duration_s
        limit = int(duration) if duration else 0
    try:
        for count, reading in enumerate(readings, start=1):
            if args.json:
                print(json.dumps(reading_to_dict(reading)), file=out, flush=True)
            else:
                if count % 20 == 1:
                    print(table_header(), file=out)
                print(format_reading(reading), file=out)
                for note in wiring_notes(reading, expect_import=args.expect_import):
                    print(f"  ! {note}", file=out)
                out.flush()
            if limit and count >= limit:
                break
    finally:
        readings.close()
    return 0


def ct_readings(
    args: argparse.Namespace, settings: Settings, clock: Clock
) -> Generator[GridReading, None, None]:
    """Readings from the CTs: the HAT's ADC, or the fake chip fed by a scenario."""
    if args.simulate is not None:
        scenario = load_scenario(args.simulate)
        settings = scenario.apply_to(settings)
        seed = scenario.seed if args.seed is None else args.seed
        opener = scenario_opener(ScenarioSignals(scenario, seed=seed), seed)
        speed = args.speed
    else:
        opener, speed = hat_opener(load_pinmap()), 1.0
    config = MeteringConfig.from_settings(settings)
    state = EngineState()
    meter: Meter | None = None
    start = time.monotonic()
    count = 0
    try:
        while True:
            try:
                if meter is None:
                    meter = Meter(opener(settings), config, state)
                reading = meter.read(clock)
                state = meter.state
            except DriverError as error:
                if meter is not None:
                    meter.close()
                    meter = None
                reading = failure_reading(clock, error, state, settings)
                speed = speed or 1.0  # retry once a second, even when not pacing
            yield reading
            count += 1
            if speed > 0:
                # Pacing a terminal printout, not logic: sleep until the next window is due.
                time.sleep(max(0.0, start + count / speed - time.monotonic()))
    finally:
        if meter is not None:
            meter.close()


def table_header() -> str:
    phases = "  ".join(f"{f'L{n}':^31}" for n in (1, 2, 3))
    sub = "  ".join(f"{'A':>7} {'W':>8} {'PF':>5} {'dir':>7}" for _ in range(3))
    return f"{'time':8}  {'V':>6} {'Hz':>7}  {phases}  flags\n{'':8}  {'':6} {'':7}  {sub}"


def format_reading(reading: GridReading) -> str:
    """One table line: V, Hz, per phase A / W / PF / direction, then the faults in words."""
    stamp = time.strftime("%H:%M:%S", time.localtime(reading.wall_time_s))
    hz = f"{reading.frequency_hz:7.3f}" if reading.frequency_hz is not None else f"{'--':>7}"
    cells = []
    for index, phase in enumerate(reading.phases):
        if index >= reading.phase_count:
            cells.append(f"{'-':>7} {'-':>8} {'-':>5} {'-':>7}")
        elif Fault.CT_MISSING in phase.faults:
            cells.append(f"{'no CT':>31}")
        else:
            cells.append(
                f"{phase.current_a:7.2f} {phase.power_w:8.0f} {phase.power_factor:5.2f} "
                f"{phase.direction.value:>7}"
            )
    flags = ", ".join(_describe_faults(reading)) or "ok"
    return f"{stamp:8}  {reading.voltage_l1_v:6.1f} {hz}  {'  '.join(cells)}  {flags}"


def _describe_faults(reading: GridReading) -> list[str]:
    words = [_FAULT_WORDS[f] for f in sorted(reading.faults)]
    for index, phase in enumerate(reading.phases[: reading.phase_count], start=1):
        words.extend(f"L{index} {_FAULT_WORDS[f]}" for f in sorted(phase.faults))
    return words


def wiring_notes(reading: GridReading, *, expect_import: bool = False) -> list[str]:
    """Plain-language hints for the installer about what the reading says of the wiring."""
    notes: list[str] = []
    if Fault.NO_VOLTAGE in reading.faults:
        notes.append("no L1 voltage reference: check the HAT's mains input and its fuse")
    for index, phase in enumerate(reading.phases[: reading.phase_count], start=1):
        if Fault.CT_MISSING in phase.faults:
            notes.append(f"L{index}: no CT plugged in (or a broken CT cable)")
        elif Fault.CLIPPED in phase.faults:
            notes.append(f"L{index}: current beyond the measuring range (burden/CT ratio?)")
        elif phase.direction is Direction.EXPORT:
            if expect_import:
                notes.append(f"L{index}: REVERSED CT - export measured where import is expected")
            else:
                notes.append(
                    f"L{index}: exporting {phase.export_w:.0f} W - if nothing generates on "
                    "this phase now, the CT is reversed"
                )
        elif reading.valid and phase.current_a >= 2.0 and phase.power_factor < 0.3:
            notes.append(
                f"L{index}: power factor {phase.power_factor:.2f} at {phase.current_a:.1f} A -"
                " is the CT on the phase it is labelled for?"
            )
    return notes
