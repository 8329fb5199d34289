"""drivers.network: the exact NetworkManager settings, the nmcli command lines and parsers."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Interface

import pytest

from drivers.errors import NetworkError
from drivers.network import (
    AP_CONNECTION,
    AccessPointConfig,
    CommandResult,
    EthernetConfig,
    FakeNetworkManager,
    NmcliNetworkManager,
    StationConfig,
    access_point_settings,
    count_stations,
    ethernet_settings,
    nmcli_add_argv,
    parse_ipv4_state,
    parse_wifi_list,
    split_terse,
    station_settings,
)


def test_access_point_settings_are_exactly_a_wpa2_shared_ap() -> None:
    settings = access_point_settings(AccessPointConfig("SCC-34567890", "40718263"))
    assert settings == {
        "connection.id": "scc-commissioning",
        "connection.type": "802-11-wireless",
        "connection.interface-name": "wlan0",
        "connection.autoconnect": "no",
        "802-11-wireless.ssid": "SCC-34567890",
        "802-11-wireless.mode": "ap",
        "802-11-wireless.band": "bg",
        "802-11-wireless.channel": "6",
        "802-11-wireless.powersave": "2",
        "802-11-wireless-security.key-mgmt": "wpa-psk",
        "802-11-wireless-security.proto": "rsn",
        "802-11-wireless-security.pairwise": "ccmp",
        "802-11-wireless-security.group": "ccmp",
        "802-11-wireless-security.psk": "40718263",
        "ipv4.method": "shared",
        "ipv4.addresses": "192.168.11.1/30",
        "ipv6.method": "disabled",
    }


def test_station_settings_open_and_secured() -> None:
    secured = station_settings(StationConfig("Home", "secret-pass"))
    assert secured["802-11-wireless.mode"] == "infrastructure"
    assert secured["connection.autoconnect"] == "yes"
    assert secured["802-11-wireless-security.key-mgmt"] == "wpa-psk"
    assert secured["802-11-wireless-security.psk"] == "secret-pass"
    assert secured["ipv4.method"] == "auto"
    open_network = station_settings(StationConfig("Guest", ""))
    assert not any(key.startswith("802-11-wireless-security") for key in open_network)


def test_ethernet_settings_static_with_and_without_gateway() -> None:
    with_gateway = ethernet_settings(
        EthernetConfig(IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.1"))
    )
    assert with_gateway["ipv4.method"] == "manual"
    assert with_gateway["ipv4.addresses"] == "10.0.0.5/24"
    assert with_gateway["ipv4.gateway"] == "10.0.0.1"
    assert with_gateway["connection.interface-name"] == "eth0"
    direct = ethernet_settings(EthernetConfig(IPv4Interface("192.168.5.2/30")))
    assert direct["ipv4.gateway"] == ""


def test_nmcli_add_keeps_each_value_one_argument() -> None:
    hostile = StationConfig("home; reboot", "pa ss\tword 802-11-wireless.mode ap")
    argv = nmcli_add_argv(station_settings(hostile))
    assert argv[:5] == ["nmcli", "connection", "add", "save", "yes"]
    pairs = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert pairs["802-11-wireless.ssid"] == "home; reboot"
    assert pairs["802-11-wireless-security.psk"] == "pa ss\tword 802-11-wireless.mode ap"
    assert pairs["802-11-wireless.mode"] == "infrastructure"


class RecordingRunner:
    def __init__(self, results: dict[str, CommandResult] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.results = results or {}

    async def __call__(self, argv: Sequence[str], timeout_s: float) -> CommandResult:
        self.calls.append(list(argv))
        for marker, result in self.results.items():
            if marker in argv:
                return result
        return CommandResult(0, "", "")


async def test_nmcli_adds_by_replacing_then_activates_and_waits() -> None:
    runner = RecordingRunner(
        {"delete": CommandResult(10, "", "Error: unknown connection 'scc-commissioning'.")}
    )
    nm = NmcliNetworkManager(runner)
    await nm.add_connection(access_point_settings(AccessPointConfig("SCC-1", "12345678")))
    await nm.activate(AP_CONNECTION)
    assert runner.calls[0] == ["nmcli", "connection", "delete", "id", "scc-commissioning"]
    assert runner.calls[1][:3] == ["nmcli", "connection", "add"]
    assert runner.calls[2] == [
        "nmcli",
        "--wait",
        "30",
        "connection",
        "up",
        "id",
        "scc-commissioning",
    ]


async def test_nmcli_failure_becomes_network_error_with_reason() -> None:
    runner = RecordingRunner(
        {"up": CommandResult(4, "", "Error: Connection activation failed: Secrets were required.")}
    )
    with pytest.raises(NetworkError, match="Secrets were required"):
        await NmcliNetworkManager(runner).activate("scc-home-wifi")


async def test_nmcli_station_count_uses_iw() -> None:
    dump = "Station 3a:11:22:33:44:55 (on wlan0)\n\tinactive time:\t10 ms\n"
    runner = RecordingRunner({"station": CommandResult(0, dump, "")})
    assert await NmcliNetworkManager(runner).station_count("wlan0") == 1
    assert runner.calls == [["iw", "dev", "wlan0", "station", "dump"]]


def test_terse_parsing_unescapes_colons() -> None:
    assert split_terse(r"Caf\\e\: 2nd:35:") == ["Caf\\e: 2nd", "35", ""]
    networks = parse_wifi_list(
        "Home:80:WPA2\nHome:60:WPA2\n:90:WPA2\nCaf\\: open:35:\nGuest:20:--\n"
    )
    assert [(n.ssid, n.signal, n.secured) for n in networks] == [
        ("Home", 80, True),
        ("Caf: open", 35, False),
        ("Guest", 20, False),
    ]


def test_ipv4_state_and_station_parsers() -> None:
    state = parse_ipv4_state("10.0.0.5/24 | 10.0.0.6/24\n10.0.0.1\n")
    assert state.addresses == (IPv4Interface("10.0.0.5/24"), IPv4Interface("10.0.0.6/24"))
    assert state.gateway == IPv4Address("10.0.0.1")
    assert parse_ipv4_state("\n\n").addresses == ()
    assert count_stations("") == 0


async def test_fake_refuses_what_networkmanager_refuses() -> None:
    fake = FakeNetworkManager()
    with pytest.raises(NetworkError, match="psk"):
        await fake.add_connection(access_point_settings(AccessPointConfig("SCC-1", "123456")))
    with pytest.raises(NetworkError, match="unknown connection"):
        await fake.activate("nothing")
