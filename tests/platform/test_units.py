"""The systemd units as systemd itself reads them: verify, security exposure, drop-ins, polkit."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).parents[2] / "systemd"
UNITS = ("scc.service", "scc-firstboot.service")
EXPOSURE_TARGET = 2.0

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def unit_executables(unit: Path) -> list[str]:
    paths = []
    for line in unit.read_text().splitlines():
        match = re.match(r"^Exec\w+=[-+!@:]*(/\S+)", line)
        if match:
            paths.append(match.group(1))
    return paths


@pytest.fixture(scope="module")
def unit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root holding systemd's own units, ours, and the programs our units start."""
    root = tmp_path_factory.mktemp("unitroot")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name in UNITS:
        unit = SYSTEMD / name
        shutil.copy(unit, root / "etc/systemd/system" / name)
        for program in unit_executables(unit):
            target = root / program.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("#!/bin/sh\n")
            target.chmod(0o755)
    return root


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify_is_clean(unit_root: Path, name: str) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={unit_root}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_analyze
def test_security_exposure_is_ok_level_below_2(unit_root: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--root={unit_root}", "scc.service"],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for scc\.service: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    score, level = float(match.group(1)), match.group(2)
    print(f"\nscc.service exposure: {score} {level}")
    assert level == "OK"
    assert score < EXPOSURE_TARGET


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_service_is_notify_watchdog_unprivileged_and_device_limited() -> None:
    text = (SYSTEMD / "scc.service").read_text()
    service = read_unit(SYSTEMD / "scc.service")["Service"]
    assert service["Type"] == "notify"
    assert service["WatchdogSec"] == "30s"
    assert service["Restart"] == "on-failure"
    assert service["User"] == "scc"
    assert service["SupplementaryGroups"].split() == ["spi", "i2c", "gpio", "dialout"]
    assert service["ProtectSystem"] == "strict"
    assert service["DevicePolicy"] == "closed"
    assert service["StateDirectory"] == "scc"
    assert "check-settings --quiet" in text
    allowed = re.findall(r"^DeviceAllow=(\S+)", text, re.MULTILINE)
    assert allowed == ["/dev/spidev0.0", "/dev/i2c-1", "char-gpiochip", "char-ttyAMA"]
    assert "watchdog" not in " ".join(allowed)
    assert read_unit(SYSTEMD / "scc.service")["Unit"]["StartLimitAction"] == "reboot"


def test_hardware_watchdog_and_volatile_capped_journal() -> None:
    manager = read_unit(SYSTEMD / "system.conf.d/10-scc-watchdog.conf")["Manager"]
    assert manager["RuntimeWatchdogSec"] == "15s"
    journal = read_unit(SYSTEMD / "journald.conf.d/10-scc.conf")["Journal"]
    assert journal["Storage"] == "volatile"
    assert journal["RuntimeMaxUse"] == "32M"


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="no systemd-sysusers")
def test_sysusers_creates_the_user_with_the_device_groups(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("passwd", "group"):
        (etc / name).write_text("")
    (etc / "group").write_text("spi:x:999:\ni2c:x:998:\ngpio:x:997:\ndialout:x:20:\n")
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(SYSTEMD / "sysusers.d/scc.conf")],
        check=True,
        capture_output=True,
    )
    assert re.search(r"^scc:x:\d+:\d+:", (etc / "passwd").read_text(), re.MULTILINE)
    groups = (etc / "group").read_text()
    for group in ("spi", "i2c", "gpio", "dialout"):
        assert re.search(rf"^{group}:x:\d+:scc$", groups, re.MULTILINE), groups


_POLKIT_HARNESS = """
const fs = require("fs");
let rule;
const polkit = { Result: { YES: "yes", NOT_HANDLED: "not_handled" },
                 addRule: (f) => { rule = f; } };
eval(fs.readFileSync(process.argv[1], "utf8"));
const cases = JSON.parse(process.argv[2]);
const out = cases.map(([user, id, details]) =>
  rule({ id: id, lookup: (k) => details[k] }, { user: user }));
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_polkit_rule_allows_exactly_the_privileged_bits() -> None:
    manage = "org.freedesktop.systemd1.manage-units"
    cases = [
        ["scc", manage, {"unit": "scc.service", "verb": "restart"}],
        ["scc", manage, {"unit": "ssh.service", "verb": "start"}],
        ["scc", manage, {"unit": "scc.service", "verb": "stop"}],
        ["scc", "org.freedesktop.login1.reboot", {}],
        ["scc", "org.freedesktop.NetworkManager.settings.modify.system", {}],
        ["scc", "org.freedesktop.login1.power-off", {}],
        ["www-data", "org.freedesktop.NetworkManager.settings.modify.system", {}],
    ]
    result = subprocess.run(
        [
            "node",
            "-e",
            _POLKIT_HARNESS,
            "--",
            str(SYSTEMD / "polkit/50-scc.rules"),
            json.dumps(cases),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == [
        "yes",
        "not_handled",
        "not_handled",
        "yes",
        "yes",
        "not_handled",
        "not_handled",
    ]
