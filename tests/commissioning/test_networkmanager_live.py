"""The real NetworkManager path, on a machine set up for it (opt-in: --run-slow plus variables).

Needs NetworkManager, `iw`, permission to change connections (root or a polkit rule) and two
Wi-Fi radios, e.g. `modprobe mac80211_hwsim radios=2` on a test machine or the Pi's wlan0 plus a
USB stick. Then:

    SCC_NM_AP_INTERFACE=wlan0 SCC_NM_STATION_INTERFACE=wlan1 \\
        .venv/bin/pytest --run-slow tests/commissioning/test_networkmanager_live.py

It brings up the commissioning AP on the first radio, joins it from the second with nmcli as a
phone would, checks the station's address and the station count, and tears everything down.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from ipaddress import IPv4Interface

import pytest

from appliance.clock import SystemClock
from appliance.commissioning import NetworkCommissioning
from appliance.identity import DeviceIdentity
from appliance.settings import Settings
from drivers.network import AP_CONNECTION, NmcliNetworkManager, run_command

AP_INTERFACE = os.environ.get("SCC_NM_AP_INTERFACE", "")
STATION_INTERFACE = os.environ.get("SCC_NM_STATION_INTERFACE", "")
STATION_CONNECTION = "scc-live-test-phone"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (AP_INTERFACE and STATION_INTERFACE and shutil.which("nmcli") and shutil.which("iw")),
        reason="needs NetworkManager, iw and SCC_NM_AP_INTERFACE / SCC_NM_STATION_INTERFACE",
    ),
]


async def _join_as_phone(ssid: str, code: str) -> None:
    for _ in range(10):  # the new AP shows up in the station's scan after a few seconds
        await run_command(["nmcli", "device", "wifi", "rescan", "ifname", STATION_INTERFACE], 15.0)
        result = await run_command(
            [
                "nmcli",
                "--wait",
                "30",
                "device",
                "wifi",
                "connect",
                ssid,
                "password",
                code,
                "ifname",
                STATION_INTERFACE,
                "name",
                STATION_CONNECTION,
            ],
            40.0,
        )
        if result.returncode == 0:
            return
        await asyncio.sleep(2)
    raise AssertionError(f"station could not join {ssid}: {result.stderr}")


async def test_access_point_serves_one_station_at_192_168_11_2() -> None:
    network = NmcliNetworkManager()
    service = NetworkCommissioning(
        network,
        DeviceIdentity("0000008879"),
        SystemClock(),
        Settings,
        wifi_interface=AP_INTERFACE,
    )
    await service.start()
    try:
        status = service.status()
        assert status.active, status.error
        await _join_as_phone(status.ssid, status.code)
        station = await network.ipv4_state(STATION_INTERFACE)
        assert IPv4Interface("192.168.11.2/30") in station.addresses
        assert await network.station_count(AP_INTERFACE) == 1
        await service.poll()
        assert service.status().url == "http://192.168.11.1/"
    finally:
        await network.delete_connection(STATION_CONNECTION)
        await service.stop()
    assert not await network.has_connection(AP_CONNECTION)
