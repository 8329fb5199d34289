"""Wi-Fi and Ethernet control through NetworkManager, behind one small interface.

Every connection is described as NetworkManager settings in nmcli's `setting.property` names
(`802-11-wireless.mode` -> `ap`). The pure builders below produce them; `NmcliNetworkManager`
hands them to nmcli as separate argv elements (never through a shell, so no value can inject
a command or a second property), and `FakeNetworkManager` records them for tests and the
simulation.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Literal, Protocol

from drivers.errors import NetworkError

# NetworkManager settings of one connection, by nmcli property name; insertion order is kept.
ConnectionSettings = dict[str, str]

AP_CONNECTION = "scc-commissioning"
HOME_WIFI_CONNECTION = "scc-home-wifi"
ETHERNET_CONNECTION = "scc-ethernet"

# Shared mode with a /30 leaves exactly one address for a station: .1 is ours, .2 the phone's.
AP_ADDRESS = IPv4Interface("192.168.11.1/30")


@dataclass(frozen=True, slots=True)
class AccessPointConfig:
    ssid: str
    passphrase: str  # WPA2-PSK, 8..63 printable ASCII characters
    interface: str = "wlan0"
    address: IPv4Interface = AP_ADDRESS
    band: Literal["bg", "a"] = "bg"
    channel: int = 6  # fixed: 1, 6 or 11 never overlap in 2.4 GHz; no ACS on the Pi's chip


@dataclass(frozen=True, slots=True)
class StationConfig:
    ssid: str
    password: str  # empty for an open network
    interface: str = "wlan0"


@dataclass(frozen=True, slots=True)
class EthernetConfig:
    address: IPv4Interface  # address with prefix length
    gateway: IPv4Address | None = None
    interface: str = "eth0"


@dataclass(frozen=True, slots=True)
class Ipv4State:
    """What an interface has right now (not what a profile says)."""

    addresses: tuple[IPv4Interface, ...] = ()
    gateway: IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class WifiNetwork:
    ssid: str
    signal: int  # 0..100 as NetworkManager reports it
    secured: bool


def access_point_settings(config: AccessPointConfig) -> ConnectionSettings:
    """A WPA2-PSK (CCMP only) access point in shared mode: NM runs DHCP for the one station."""
    return {
        "connection.id": AP_CONNECTION,
        "connection.type": "802-11-wireless",
        "connection.interface-name": config.interface,
        "connection.autoconnect": "no",
        "802-11-wireless.ssid": config.ssid,
        "802-11-wireless.mode": "ap",
        "802-11-wireless.band": config.band,
        "802-11-wireless.channel": str(config.channel),
        "802-11-wireless.powersave": "2",  # off: a sleeping AP drops phones
        "802-11-wireless-security.key-mgmt": "wpa-psk",
        "802-11-wireless-security.proto": "rsn",
        "802-11-wireless-security.pairwise": "ccmp",
        "802-11-wireless-security.group": "ccmp",
        "802-11-wireless-security.psk": config.passphrase,
        "ipv4.method": "shared",
        "ipv4.addresses": str(config.address),
        "ipv6.method": "disabled",
    }


def station_settings(config: StationConfig) -> ConnectionSettings:
    """The home router connection: DHCP, reconnects by itself after a reboot."""
    settings: ConnectionSettings = {
        "connection.id": HOME_WIFI_CONNECTION,
        "connection.type": "802-11-wireless",
        "connection.interface-name": config.interface,
        "connection.autoconnect": "yes",
        "802-11-wireless.ssid": config.ssid,
        "802-11-wireless.mode": "infrastructure",
    }
    if config.password:
        settings["802-11-wireless-security.key-mgmt"] = "wpa-psk"
        settings["802-11-wireless-security.psk"] = config.password
    settings["ipv4.method"] = "auto"
    settings["ipv6.method"] = "auto"
    return settings


def ethernet_settings(config: EthernetConfig) -> ConnectionSettings:
    """A static address on the Ethernet port: the charger reaches the Modbus TCP meter there."""
    return {
        "connection.id": ETHERNET_CONNECTION,
        "connection.type": "802-3-ethernet",
        "connection.interface-name": config.interface,
        "connection.autoconnect": "yes",
        # Wins over the image's DHCP profile for eth0 at every boot.
        "connection.autoconnect-priority": "10",
        "ipv4.method": "manual",
        "ipv4.addresses": str(config.address),
        "ipv4.gateway": "" if config.gateway is None else str(config.gateway),
        "ipv6.method": "disabled",
    }


class NetworkManager(Protocol):
    """The few NetworkManager operations the appliance needs."""

    async def add_connection(self, settings: ConnectionSettings) -> None:
        """Store a connection profile, replacing one with the same `connection.id`."""
        ...

    async def delete_connection(self, name: str) -> None:
        """Remove a profile (deactivating it); no error if it does not exist."""
        ...

    async def has_connection(self, name: str) -> bool: ...

    async def activate(self, name: str) -> None:
        """Bring a profile up and wait until it is up; `NetworkError` with the reason if not."""
        ...

    async def deactivate(self, name: str) -> None:
        """Take a profile down; no error if it was not active."""
        ...

    async def scan(self, interface: str) -> list[WifiNetwork]: ...

    async def station_count(self, interface: str) -> int:
        """Stations associated with our access point on `interface`."""
        ...

    async def ipv4_state(self, interface: str) -> Ipv4State: ...


# --- nmcli ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


class CommandRunner(Protocol):
    async def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult: ...


async def run_command(argv: Sequence[str], timeout_s: float) -> CommandResult:
    """Run a program without a shell, C locale, killed when it overruns its time."""
    env = {**os.environ, "LC_ALL": "C"}
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        raise NetworkError(f"cannot run {argv[0]}: {exc.strerror}") from exc
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise NetworkError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} timed out") from None
    assert process.returncode is not None
    return CommandResult(
        process.returncode, out.decode(errors="replace"), err.decode("utf-8", "replace")
    )


NMCLI_NOT_FOUND = 10  # nmcli: "connection, device, or access point does not exist"
ACTIVATION_WAIT_S = 30


def nmcli_add_argv(settings: Mapping[str, str]) -> list[str]:
    """`nmcli connection add` with every property as its own argv pair, in order."""
    argv = ["nmcli", "connection", "add", "save", "yes"]
    for name, value in settings.items():
        argv += [name, value]
    return argv


def split_terse(line: str) -> list[str]:
    r"""One line of `nmcli --terse --escape yes`: fields split on ':', `\:` and `\\` unescaped."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def parse_wifi_list(output: str) -> list[WifiNetwork]:
    """`nmcli -t -e yes -f SSID,SIGNAL,SECURITY device wifi list`: strongest entry per SSID."""
    best: dict[str, WifiNetwork] = {}
    for line in output.splitlines():
        parts = split_terse(line)
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
            continue  # hidden networks have no SSID to offer
        ssid, signal, security = parts[0], int(parts[1]), parts[2].strip()
        network = WifiNetwork(ssid, signal, secured=security not in {"", "--"})
        if ssid not in best or network.signal > best[ssid].signal:
            best[ssid] = network
    return sorted(best.values(), key=lambda n: (-n.signal, n.ssid))


def parse_ipv4_state(output: str) -> Ipv4State:
    """`nmcli -t -e no -g IP4.ADDRESS,IP4.GATEWAY device show IFACE` (one line per field)."""
    lines = [*output.splitlines(), "", ""]
    addresses = tuple(IPv4Interface(part.strip()) for part in lines[0].split("|") if part.strip())
    gateway_text = lines[1].strip()
    return Ipv4State(addresses, IPv4Address(gateway_text) if gateway_text else None)


def count_stations(iw_output: str) -> int:
    """`iw dev IFACE station dump`: one `Station <mac> (on IFACE)` block per associated station."""
    return sum(1 for line in iw_output.splitlines() if line.startswith("Station "))


class NmcliNetworkManager:
    """NetworkManager through nmcli (and `iw` for the station list, which nmcli lacks)."""

    def __init__(self, runner: CommandRunner = run_command) -> None:
        self._run = runner

    async def _nmcli(self, *args: str, timeout_s: float = 15.0, missing_ok: bool = False) -> str:
        result = await self._run(["nmcli", *args], timeout_s)
        if result.returncode == 0 or (missing_ok and result.returncode == NMCLI_NOT_FOUND):
            return result.stdout
        reason = result.stderr.strip().removeprefix("Error: ") or f"exit {result.returncode}"
        raise NetworkError(f"nmcli {args[0]} {args[1] if len(args) > 1 else ''}: {reason}")

    async def add_connection(self, settings: ConnectionSettings) -> None:
        await self.delete_connection(settings["connection.id"])
        argv = nmcli_add_argv(settings)
        result = await self._run(argv, 15.0)
        if result.returncode != 0:
            reason = result.stderr.strip().removeprefix("Error: ")
            raise NetworkError(f"cannot add connection {settings['connection.id']}: {reason}")

    async def delete_connection(self, name: str) -> None:
        await self._nmcli("connection", "delete", "id", name, missing_ok=True)

    async def has_connection(self, name: str) -> bool:
        names = await self._nmcli("--terse", "--escape", "no", "-g", "NAME", "connection", "show")
        return name in names.splitlines()

    async def activate(self, name: str) -> None:
        await self._nmcli(
            "--wait",
            str(ACTIVATION_WAIT_S),
            "connection",
            "up",
            "id",
            name,
            timeout_s=ACTIVATION_WAIT_S + 5,
        )

    async def deactivate(self, name: str) -> None:
        await self._nmcli("connection", "down", "id", name, missing_ok=True)

    async def scan(self, interface: str) -> list[WifiNetwork]:
        output = await self._nmcli(
            "--terse",
            "--escape",
            "yes",
            "--fields",
            "SSID,SIGNAL,SECURITY",
            "device",
            "wifi",
            "list",
            "ifname",
            interface,
            "--rescan",
            "auto",  # NetworkManager scans unless its list is fresh (< 30 s)
            timeout_s=30.0,
        )
        return parse_wifi_list(output)

    async def station_count(self, interface: str) -> int:
        result = await self._run(["iw", "dev", interface, "station", "dump"], 5.0)
        if result.returncode != 0:
            raise NetworkError(f"iw station dump on {interface}: {result.stderr.strip()}")
        return count_stations(result.stdout)

    async def ipv4_state(self, interface: str) -> Ipv4State:
        output = await self._nmcli(
            "--terse",
            "--escape",
            "no",
            "-g",
            "IP4.ADDRESS,IP4.GATEWAY",
            "device",
            "show",
            interface,
        )
        return parse_ipv4_state(output)


# --- the fake twin -------------------------------------------------------------------------


@dataclass
class FakeNetworkManager:
    """NetworkManager in memory: keeps profiles and what is active, checks what NM would refuse.

    `stations` is what `iw` would list; `join_after_s` (with `now`) lets a simulated phone join
    the access point some seconds after it comes up. `home_networks` maps an SSID in reach to its
    password, so activating a station profile with a wrong password fails like the real thing.
    """

    scan_results: list[WifiNetwork] = field(default_factory=list)
    home_networks: dict[str, str] = field(default_factory=dict)
    ipv4: dict[str, Ipv4State] = field(default_factory=dict)
    stations: int = 0
    join_after_s: float | None = None
    now: Callable[[], float] | None = None
    connections: dict[str, ConnectionSettings] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _ap_up_since: float | None = None

    async def add_connection(self, settings: ConnectionSettings) -> None:
        name = settings["connection.id"]
        psk = settings.get("802-11-wireless-security.psk")
        if psk is not None and not 8 <= len(psk) <= 63:
            raise NetworkError("802-11-wireless-security.psk: property is invalid")
        if not settings.get("802-11-wireless.ssid", "x"):
            raise NetworkError("802-11-wireless.ssid: property is missing")
        self.calls.append(("add", name))
        self.active.discard(name)
        self.connections[name] = dict(settings)

    async def delete_connection(self, name: str) -> None:
        self.calls.append(("delete", name))
        self.active.discard(name)
        self.connections.pop(name, None)

    async def has_connection(self, name: str) -> bool:
        return name in self.connections

    async def activate(self, name: str) -> None:
        self.calls.append(("up", name))
        settings = self.connections.get(name)
        if settings is None:
            raise NetworkError(f"unknown connection '{name}'")
        interface = settings["connection.interface-name"]
        mode = settings.get("802-11-wireless.mode")
        if mode == "infrastructure":
            self._join(settings)
        # One profile per interface: bringing one up takes the other down, as NM does.
        for other in list(self.active):
            if self.connections[other]["connection.interface-name"] == interface:
                self.active.discard(other)
        self.active.add(name)
        if mode == "ap":
            self._ap_up_since = self.now() if self.now is not None else None
            self.ipv4[interface] = Ipv4State((IPv4Interface(settings["ipv4.addresses"]),))
        elif settings.get("ipv4.method") == "manual":
            gateway = settings.get("ipv4.gateway", "")
            self.ipv4[interface] = Ipv4State(
                (IPv4Interface(settings["ipv4.addresses"]),),
                IPv4Address(gateway) if gateway else None,
            )

    def _join(self, settings: ConnectionSettings) -> None:
        ssid = settings["802-11-wireless.ssid"]
        if ssid not in self.home_networks:
            raise NetworkError(f"No network with SSID '{ssid}' found.")
        if self.home_networks[ssid] != settings.get("802-11-wireless-security.psk", ""):
            raise NetworkError("Secrets were required, but not provided.")
        self.ipv4[settings["connection.interface-name"]] = Ipv4State(
            (IPv4Interface("192.168.1.23/24"),), IPv4Address("192.168.1.1")
        )

    async def deactivate(self, name: str) -> None:
        self.calls.append(("down", name))
        if name in self.active and self.connections[name].get("802-11-wireless.mode") == "ap":
            self._ap_up_since = None
        self.active.discard(name)

    async def scan(self, interface: str) -> list[WifiNetwork]:
        self.calls.append(("scan", interface))
        return list(self.scan_results)

    async def station_count(self, interface: str) -> int:
        if AP_CONNECTION not in self.active:
            return 0
        if self.join_after_s is not None and self.now is not None and self._ap_up_since is not None:
            joined = self.now() - self._ap_up_since >= self.join_after_s
            return max(self.stations, 1 if joined else 0)
        return self.stations

    async def ipv4_state(self, interface: str) -> Ipv4State:
        return self.ipv4.get(interface, Ipv4State())
