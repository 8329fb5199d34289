"""`python -m bench [--quick]` (`make bench`): every benchmark, one after the other.

Each runs in its own process so that none disturbs another's timing; each prints its table and
saves its JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHMARKS = (
    ("adc_rate", "ADC sample rates and simulation cost"),
    ("accuracy", "metering accuracy over the scenario matrix, engine cost"),
    ("p1_timing", "P1 telegram cadence and latency"),
    ("modbus_load", "Modbus TCP under 8 polling clients"),
    ("remote_load", "dashboard and API load vs. P1 cadence and Modbus latency"),
    ("day", "24-hour charge-control days against the baselines"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short versions (a few minutes)")
    parser.add_argument("only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args()
    failed = []
    for name, what in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name}: {what} ===", flush=True)
        started = time.monotonic()
        command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if args.quick else [])]
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(name)
        print(f"--- {name} took {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
