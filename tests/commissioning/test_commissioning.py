"""The commissioning session: access point settings, the 5-minute rule, teardown and restore."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from appliance.clock import FakeClock
from appliance.commissioning import (
    COMMISSIONING_URL,
    CommissioningSession,
    apply_meter_address,
    is_commissioning_peer,
    new_wifi_code,
    wifi_qr_payload,
)
from appliance.settings import MeterSettings, WifiSettings
from drivers.errors import NetworkError
from drivers.network import AP_CONNECTION, HOME_WIFI_CONNECTION, Ipv4State
from tests.commissioning.harness import (
    FIXED_CODE,
    HOME_PASSWORD,
    HOME_SSID,
    Appliance,
    build_appliance,
)


@pytest.fixture
def appliance(state_dir: Path, clock: FakeClock) -> Appliance:
    return build_appliance(state_dir, clock)


def test_codes_are_eight_random_digits() -> None:
    codes = {new_wifi_code() for _ in range(200)}
    assert all(re.fullmatch(r"\d{8}", code) for code in codes)
    assert len(codes) > 190  # fresh each time


def test_qr_payload_escapes_special_characters() -> None:
    assert wifi_qr_payload("SCC-34567890", "40718263") == "WIFI:T:WPA;S:SCC-34567890;P:40718263;;"
    assert wifi_qr_payload('a;b,c:d\\"', "1") == 'WIFI:T:WPA;S:a\\;b\\,c\\:d\\\\\\";P:1;;'


def test_session_times_out_after_five_minutes_without_station() -> None:
    session = CommissioningSession(now=0.0)
    session.observe(0, 299.9)
    assert not session.expired(299.9)
    assert session.expired(300.0)


def test_session_never_times_out_while_a_station_is_connected() -> None:
    session = CommissioningSession(now=0.0)
    session.observe(1, 10.0)
    assert not session.expired(10_000.0)
    session.observe(0, 10_000.0)  # the phone left: the five minutes start again
    assert session.remaining_s(10_100.0) == pytest.approx(200.0)
    assert not session.expired(10_299.0)
    assert session.expired(10_300.0)


async def test_start_brings_up_the_exact_access_point(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    ap = appliance.network.connections[AP_CONNECTION]
    assert ap["802-11-wireless.ssid"] == "SCC-34567890"
    assert ap["802-11-wireless.mode"] == "ap"
    assert ap["ipv4.method"] == "shared"
    assert ap["ipv4.addresses"] == "192.168.11.1/30"
    assert ap["802-11-wireless-security.key-mgmt"] == "wpa-psk"
    assert ap["802-11-wireless-security.psk"] == FIXED_CODE
    assert (ap["802-11-wireless.band"], ap["802-11-wireless.channel"]) == ("bg", "6")
    assert appliance.network.active == {AP_CONNECTION}
    status = appliance.commissioning.status()
    assert (status.active, status.ssid, status.code) == (True, "SCC-34567890", FIXED_CODE)
    assert not status.station_connected
    assert status.url == ""
    # The scan happens before the AP is up (a radio in AP mode cannot scan).
    assert appliance.network.calls.index(("scan", "wlan0")) < appliance.network.calls.index(
        ("up", AP_CONNECTION)
    )
    assert next(n.ssid for n in appliance.commissioning.networks) == HOME_SSID


async def test_url_appears_once_a_station_connects(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    appliance.network.stations = 1
    await appliance.commissioning.poll()
    status = appliance.commissioning.status()
    assert status.station_connected
    assert status.url == COMMISSIONING_URL == "http://192.168.11.1/"


async def test_access_point_stops_after_five_minutes_without_station(
    appliance: Appliance,
) -> None:
    await appliance.commissioning.start()
    for _ in range(299):
        appliance.clock.advance(1.0)
        await appliance.commissioning.poll()
    assert appliance.commissioning.status().active
    appliance.clock.advance(1.0)
    await appliance.commissioning.poll()
    assert not appliance.commissioning.status().active
    assert AP_CONNECTION not in appliance.network.connections
    assert appliance.network.active == set()
    assert appliance.commissioning.ended_reason == "no station for 5 minutes"


async def test_connected_station_keeps_the_access_point_up(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    appliance.network.stations = 1
    for _ in range(3):
        appliance.clock.advance(600.0)
        await appliance.commissioning.poll()
    assert appliance.commissioning.status().active


async def test_stop_tears_down_and_restores_the_home_wifi(appliance: Appliance) -> None:
    appliance.ctx.settings.update(
        appliance.ctx.settings.current.with_section(
            "wifi", WifiSettings(ssid=HOME_SSID, password=HOME_PASSWORD)
        )
    )
    result = await appliance.commissioning.connect_home_wifi(appliance.ctx.settings.current.wifi)
    assert result.ok
    await appliance.commissioning.start()
    assert appliance.network.active == {AP_CONNECTION}
    await appliance.commissioning.stop()
    assert AP_CONNECTION not in appliance.network.connections
    assert appliance.network.active == {HOME_WIFI_CONNECTION}
    assert not appliance.commissioning.status().active


async def test_stop_without_home_wifi_leaves_the_radio_idle(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    await appliance.commissioning.stop()
    assert appliance.network.active == set()
    assert ("up", HOME_WIFI_CONNECTION) not in appliance.network.calls


async def test_home_wifi_test_takes_the_ap_down_and_brings_it_back(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    appliance.network.stations = 1
    await appliance.commissioning.poll()
    result = await appliance.commissioning.connect_home_wifi(
        WifiSettings(ssid=HOME_SSID, password=HOME_PASSWORD)
    )
    assert result.ok
    assert result.address == "192.168.1.23"
    home = appliance.network.connections[HOME_WIFI_CONNECTION]
    assert home["802-11-wireless.ssid"] == HOME_SSID
    assert home["802-11-wireless-security.psk"] == HOME_PASSWORD
    calls = appliance.network.calls
    assert calls[-3:] == [
        ("down", AP_CONNECTION),
        ("up", HOME_WIFI_CONNECTION),
        ("up", AP_CONNECTION),
    ]
    assert appliance.network.active == {AP_CONNECTION}
    status = appliance.commissioning.status()
    assert status.active
    assert status.code == FIXED_CODE


async def test_wrong_home_password_is_reported(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    result = await appliance.commissioning.connect_home_wifi(
        WifiSettings(ssid=HOME_SSID, password="wrong password")
    )
    assert not result.ok
    assert "Secrets were required" in result.message
    assert appliance.network.active == {AP_CONNECTION}


async def test_failed_access_point_is_reported_not_raised(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    await appliance.commissioning.stop()
    appliance.network.connections.clear()

    async def broken(name: str) -> None:
        raise NetworkError("No suitable device found for this connection")

    appliance.network.activate = broken  # type: ignore[method-assign]
    await appliance.commissioning.start()
    status = appliance.commissioning.status()
    assert not status.active
    assert "No suitable device" in status.error
    assert AP_CONNECTION not in appliance.network.connections


async def test_meter_address_applied_only_when_it_differs(appliance: Appliance) -> None:
    meter = MeterSettings(
        ip_address=IPv4Address("10.0.0.5"), prefix_length=24, gateway=IPv4Address("10.0.0.1")
    )
    assert await apply_meter_address(appliance.network, meter)
    ethernet = appliance.network.connections["scc-ethernet"]
    assert ethernet["ipv4.addresses"] == "10.0.0.5/24"
    assert ethernet["ipv4.gateway"] == "10.0.0.1"
    assert appliance.network.ipv4["eth0"] == Ipv4State(
        (IPv4Interface("10.0.0.5/24"),), IPv4Address("10.0.0.1")
    )
    calls_before = len(appliance.network.calls)
    assert not await apply_meter_address(appliance.network, meter)
    assert len(appliance.network.calls) == calls_before


AP = "192.168.11.1"


@pytest.mark.parametrize(
    ("remote", "local", "loopback", "allowed"),
    [
        ("192.168.11.2", AP, False, True),
        ("192.168.11.2", "192.168.11.20", False, False),  # a home LAN using 192.168.11.x
        ("192.168.11.2", None, False, False),
        ("192.168.11.5", AP, False, False),
        ("192.168.1.20", AP, False, False),
        ("192.168.1.20", "192.168.1.50", False, False),
        ("127.0.0.1", "127.0.0.1", False, False),
        ("127.0.0.1", "127.0.0.1", True, True),
        ("::1", "::1", True, True),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1", True, True),
        ("192.168.1.20", "192.168.1.50", True, False),
        ("not an address", AP, True, False),
        (None, AP, True, False),
    ],
)
def test_commissioning_peer(
    remote: str | None, local: str | None, loopback: bool, allowed: bool
) -> None:
    assert is_commissioning_peer(remote, local, allow_loopback=loopback) is allowed
