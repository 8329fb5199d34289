"""The device number (LDN): stable per device, kept across factory resets and updates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SERIAL_LINE = re.compile(r"^Serial\s*:\s*([0-9a-fA-F]+)\s*$", re.MULTILINE)
SIMULATED_DEVICE_NUMBER = "0000008879"


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    device_number: str  # 10 decimal digits, as in the P1 header `/XMX5XMXCQA` + 10 digits

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{10}", self.device_number):
            raise ValueError(f"device number must be 10 digits, not {self.device_number!r}")

    @property
    def ssid(self) -> str:
        """Commissioning access point name: `SCC-` + the last 8 digits of the LDN."""
        return f"SCC-{self.device_number[-8:]}"


def device_number_from_cpuinfo(cpuinfo: str) -> str | None:
    """The Pi's serial number (hex) as 10 decimal digits, or None off a Pi."""
    match = _SERIAL_LINE.search(cpuinfo)
    if match is None or int(match.group(1), 16) == 0:
        return None
    return f"{int(match.group(1), 16) % 10**10:010d}"


def load_identity(device_file: Path, cpuinfo: Path = Path("/proc/cpuinfo")) -> DeviceIdentity:
    """Read the device number written at first boot; derive and store it if missing."""
    try:
        return DeviceIdentity(device_file.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    try:
        number = device_number_from_cpuinfo(cpuinfo.read_text(encoding="ascii", errors="replace"))
    except OSError:
        number = None
    identity = DeviceIdentity(number or SIMULATED_DEVICE_NUMBER)
    device_file.parent.mkdir(parents=True, exist_ok=True)
    device_file.write_text(identity.device_number + "\n", encoding="ascii")
    return identity
