"""Build the device's wheelhouse on any machine: the app wheel plus every dependency as a wheel
for CPython 3.11 on aarch64 (Raspberry Pi OS bookworm), so the device never needs an index.

    python image/wheelhouse.py --out image/work/wheelhouse

1. `pip wheel` resolves the project's dependencies for this machine and builds wheels for the
   ones published as source only. Wheels tagged `none-any` are valid on the device as they are.
2. Each platform wheel is fetched again, same version, for manylinux aarch64 / cp311.
3. Hardware bindings come from the OS (python3-spidev, python3-lgpio; the release venv sees
   system site-packages), because they are C extensions without aarch64 wheels on PyPI.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.utils import parse_wheel_filename

PLATFORMS = ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64")
FROM_THE_OS = {"spidev", "lgpio", "rpi-gpio", "rpi-lgpio"}


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)  # noqa: S603


def build(project: Path, out: Path, python_version: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp)
        pip("wheel", "--quiet", "--wheel-dir", str(local), str(project))
        for wheel in sorted(local.glob("*.whl")):
            name, version, _, tags = parse_wheel_filename(wheel.name)
            if name in FROM_THE_OS:
                continue
            if all(tag.platform == "any" for tag in tags):
                shutil.copy2(wheel, out / wheel.name)
                continue
            platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
            pip(
                "download", "--quiet", "--no-deps", "--only-binary=:all:",
                *platform_args, "--python-version", python_version,
                "--implementation", "cp", "--dest", str(out), f"{name}=={version}",
            )  # fmt: skip
    return sorted(out.glob("*.whl"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path(__file__).parents[1])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--python-version", default="3.11")
    args = parser.parse_args()
    wheels = build(args.project, args.out, args.python_version)
    print(f"{len(wheels)} wheels in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
