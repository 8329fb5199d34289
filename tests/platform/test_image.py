"""The image recipe's root filesystem, built for real (arm64 under qemu-user) and run.

Slow (several minutes, needs root, mmdebstrap, qemu-user-static with binfmt, and Debian's
package archive): opt-in with --run-slow. `.ci/run` does not run it; see docs/platform.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
WORK = REPO / "image/work/test"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(os.geteuid() != 0, reason="mmdebstrap --mode=root needs root"),
    pytest.mark.skipif(shutil.which("mmdebstrap") is None, reason="mmdebstrap not installed"),
]


@pytest.fixture(scope="module")
def rootfs() -> Path:
    started = time.monotonic()
    build = ["sh", str(REPO / "image/build.sh"), "--profile", "debian", "--rootfs-only"]
    subprocess.run([*build, "--work", str(WORK), "--out", str(WORK / "out")], check=True)
    print(f"\nroot filesystem built in {time.monotonic() - started:.0f} s")
    return WORK / "rootfs"


def in_root(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["chroot", str(root), *argv], capture_output=True, text=True, check=True, timeout=600
    )


def test_release_is_installed_complete_and_current(rootfs: Path) -> None:
    current = rootfs / "data/opt-scc/current"
    assert current.is_symlink()
    release = rootfs / "data/opt-scc" / os.readlink(current)
    assert (release / ".complete").is_file()
    assert (release / "manifest.json").is_file()
    assert os.readlink(rootfs / "opt/scc") == "/data/opt-scc"
    guard = in_root(rootfs, "/usr/bin/python3", "-I", "/opt/scc/bin/scc-guard")
    assert guard.stdout.startswith("scc-guard: release ")


def test_app_imports_and_checks_settings_inside_the_arm64_root(rootfs: Path) -> None:
    imports = "import platform, appliance, numpy, pydantic, pymodbus, cryptography"
    arch = in_root(
        rootfs, "/opt/scc/current/venv/bin/python", "-c", f"{imports}; print(platform.machine())"
    )
    assert arch.stdout.strip() == "aarch64"
    checked = in_root(rootfs, "/opt/scc/current/venv/bin/scc", "check-settings", "--state-dir",
                      "/tmp/scc-state")  # fmt: skip
    assert "settings valid" in checked.stdout


def test_measure_runs_a_scenario_inside_the_arm64_root(rootfs: Path) -> None:
    started = time.monotonic()
    measured = in_root(
        rootfs, "/opt/scc/current/venv/bin/scc", "measure", "--state-dir", "/tmp/scc-state",
        "--simulate", "/usr/share/scc/examples/scenarios/household.toml", "--seconds", "2",
    )  # fmt: skip
    print(f"\nscc measure --seconds 2 under qemu-user: {time.monotonic() - started:.1f} s")
    print(measured.stdout)
    assert measured.stdout.strip()


def test_units_verify_inside_the_built_root(rootfs: Path) -> None:
    verified = subprocess.run(
        ["systemd-analyze", "verify", f"--root={rootfs}", "scc.service", "scc-firstboot.service"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    enabled = rootfs / "etc/systemd/system/multi-user.target.wants"
    assert (enabled / "scc.service").is_symlink()
    assert not (enabled / "ssh.service").exists()
