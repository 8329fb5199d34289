"""The commissioning pages over HTTP: access gate, validation, saving, and hostile requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from ipaddress import IPv4Address

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from appliance.settings import Settings
from appliance.web.app import create_app
from appliance.web.keys import BACKGROUND_TASKS as BACKGROUND
from drivers.network import AP_CONNECTION, HOME_WIFI_CONNECTION
from tests.commissioning.harness import HOME_PASSWORD, HOME_SSID, Appliance
from tests.web.conftest import csrf_from

Client = TestClient[web.Request, web.Application]

GRID_FORM = {
    "phases": "3",
    "max_charge_current_a": "25",
    "min_charge_current_a": "8",
    "charger_startup_time_s": "120",
    "current_detection_time_s": "60",
    "metering_device": "p1",
    "ct_ratio": "2500",
}


async def _token(client: Client, path: str = "/commissioning/grid") -> str:
    response = await client.get(path)
    assert response.status == 200
    return csrf_from(await response.text())


def _stored(appliance: Appliance) -> Settings:
    return appliance.store.load()


async def test_pages_closed_outside_commissioning(client: Client, appliance: Appliance) -> None:
    for path in ("/commissioning/grid", "/commissioning/meter", "/commissioning/wifi"):
        response = await client.get(path)
        assert response.status == 403
        assert "Commissioning is not active" in await response.text()
    response = await client.post("/commissioning/grid", data=GRID_FORM)
    assert response.status in {403}
    assert not appliance.store.path.exists()


async def test_home_shows_status_then_redirects_during_commissioning(
    client: Client, appliance: Appliance
) -> None:
    response = await client.get("/")
    assert response.status == 200
    text = await response.text()
    assert "Hold <kbd>OK</kbd> for 5 seconds" in text
    assert "1234567890" in text
    await appliance.commissioning.start()
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/commissioning/grid"


async def test_device_mode_refuses_requests_not_from_the_access_point(
    appliance: Appliance,
) -> None:
    appliance.ctx.simulate = False
    await appliance.commissioning.start()
    async with TestClient(web_server(appliance)) as device_client:
        response = await device_client.get("/commissioning/grid")
        assert response.status == 403
        assert "answer only to the phone connected" in await response.text()


def web_server(appliance: Appliance) -> TestServer:
    return TestServer(create_app(appliance.ctx), host="127.0.0.1", port=0)


async def test_grid_page_saves_publishes_and_persists(client: Client, appliance: Appliance) -> None:
    await appliance.commissioning.start()
    token = await _token(client)
    sequence = appliance.ctx.settings.changes.sequence
    response = await client.post(
        "/commissioning/grid", data=GRID_FORM | {"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303
    grid = appliance.ctx.settings.current.grid
    assert (grid.max_charge_current_a, grid.min_charge_current_a) == (25, 8)
    assert (grid.charger_startup_time_s, grid.current_detection_time_s) == (120, 60)
    assert (grid.metering_device, grid.ct_ratio) == ("p1", 2500)
    assert appliance.ctx.settings.changes.sequence == sequence + 1
    assert _stored(appliance).grid == grid
    page = await client.get(response.headers["Location"])
    text = await page.text()
    assert "Saved." in text
    assert 'value="25"' in text


async def test_grid_page_rejects_bad_values_with_messages(
    client: Client, appliance: Appliance
) -> None:
    await appliance.commissioning.start()
    token = await _token(client)
    bad = GRID_FORM | {
        "max_charge_current_a": "100",
        "charger_startup_time_s": "ninety",
        "ct_ratio": "50",
        "csrf_token": token,
    }
    response = await client.post("/commissioning/grid", data=bad)
    assert response.status == 400
    text = await response.text()
    assert "Must be at most 80 A." in text
    assert "Enter a whole number." in text
    assert "Must be at least 100." in text
    assert 'value="ninety"' in text  # the installer sees what was typed
    assert not appliance.store.path.exists()
    assert appliance.ctx.settings.current.grid.max_charge_current_a == 32


async def test_min_above_max_is_reported_at_min(client: Client, appliance: Appliance) -> None:
    await appliance.commissioning.start()
    token = await _token(client)
    data = GRID_FORM | {"max_charge_current_a": "10", "min_charge_current_a": "16"}
    response = await client.post("/commissioning/grid", data=data | {"csrf_token": token})
    assert response.status == 400
    text = await response.text()
    assert 'id="min_charge_current_a-error">Min charge current must not exceed max' in text
    assert not appliance.store.path.exists()


async def test_lower_max_current_lowers_a_capacity_mode_that_no_longer_fits(
    client: Client, appliance: Appliance
) -> None:
    appliance.ctx.settings.update(
        appliance.ctx.settings.current.model_validate(
            appliance.ctx.settings.current.model_dump()
            | {"control": {"mode": "capacity:22", "capacity_averaging": "quarter"}}
        )
    )
    await appliance.commissioning.start()
    token = await _token(client)
    data = GRID_FORM | {"phases": "1", "max_charge_current_a": "20", "csrf_token": token}
    response = await client.post("/commissioning/grid", data=data)
    assert response.status == 200
    assert "changed to CAPACITY 4 kW" in await response.text()
    assert _stored(appliance).control.mode == "capacity:4"
    assert _stored(appliance).grid.network == "single"


async def test_meter_page_saves_and_sets_the_ethernet_address(
    client: Client, appliance: Appliance
) -> None:
    await appliance.commissioning.start()
    token = await _token(client, "/commissioning/meter")
    form = {
        "emulate": "emu_professional",
        "ip_address": "10.20.30.40",
        "prefix_length": "16",
        "gateway": "10.20.0.1",
        "modbus_port": "1502",
        "csrf_token": token,
    }
    response = await client.post("/commissioning/meter", data=form)
    assert response.status == 200
    assert "Ethernet port set to 10.20.30.40/16" in await response.text()
    meter = _stored(appliance).meter
    assert (meter.ip_address, meter.prefix_length, meter.modbus_port) == (
        IPv4Address("10.20.30.40"),
        16,
        1502,
    )
    ethernet = appliance.network.connections["scc-ethernet"]
    assert ethernet["ipv4.addresses"] == "10.20.30.40/16"
    assert ethernet["ipv4.gateway"] == "10.20.0.1"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ip_address", "192.168.1.256", "Enter an IPv4 address such as 192.168.1.50."),
        ("ip_address", "fe80::1", "Enter an IPv4 address such as 192.168.1.50."),
        ("gateway", "router", "Enter an IPv4 address such as 192.168.1.50."),
        ("prefix_length", "31", "Must be at most 30."),
        ("modbus_port", "0", "Must be at least 1."),
        ("modbus_port", "70000", "Must be at most 65535."),
        ("modbus_port", "22", "Port 22 is reserved for SSH."),
        ("emulate", "evil_meter", "Choose one of the options."),
    ],
)
async def test_meter_page_rejects(
    client: Client, appliance: Appliance, field: str, value: str, message: str
) -> None:
    await appliance.commissioning.start()
    token = await _token(client, "/commissioning/meter")
    form = {
        "emulate": "emu_professional",
        "ip_address": "10.20.30.40",
        "prefix_length": "24",
        "gateway": "",
        "modbus_port": "1502",
        "csrf_token": token,
    }
    response = await client.post("/commissioning/meter", data=form | {field: value})
    assert response.status == 400
    assert f'id="{field}-error">{message}' in await response.text()
    assert not appliance.store.path.exists()
    assert "scc-ethernet" not in appliance.network.connections


async def test_modbus_port_in_use_is_refused(client: Client, appliance: Appliance) -> None:
    await appliance.commissioning.start()
    token = await _token(client, "/commissioning/meter")
    busy = client.server.port  # the web pages themselves
    form = {
        "emulate": "emu_professional",
        "ip_address": "10.20.30.40",
        "prefix_length": "24",
        "gateway": "",
        "modbus_port": str(busy),
        "csrf_token": token,
    }
    response = await client.post("/commissioning/meter", data=form)
    assert response.status == 400
    assert f"Port {busy} is used by these web pages." in await response.text()


async def test_wifi_page_lists_networks_connects_and_shows_result(
    client: Client, appliance: Appliance
) -> None:
    await appliance.commissioning.start()
    page = await client.get("/commissioning/wifi")
    text = await page.text()
    assert HOME_SSID in text
    assert "Café: 2nd floor" in text
    token = csrf_from(text)
    response = await client.post(
        "/commissioning/wifi",
        data={"ssid": HOME_SSID, "password": HOME_PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert _stored(appliance).wifi.ssid == HOME_SSID
    tasks = list(client.app[BACKGROUND].tasks)
    for task in tasks:
        await task
    result = await (await client.get("/commissioning/wifi")).text()
    assert "Connected to “HomeNetwork”" in result
    assert HOME_PASSWORD not in result  # the password is never sent back
    assert appliance.network.connections[HOME_WIFI_CONNECTION]["802-11-wireless.ssid"] == HOME_SSID
    assert AP_CONNECTION in appliance.network.active


@pytest.mark.parametrize(
    ("ssid", "password", "field"),
    [
        ("home\n802-11-wireless.mode ap", "password1", "ssid"),
        ("home\r\nX-Injected: 1", "password1", "ssid"),
        ("home\x00evil", "password1", "ssid"),
        ("\x1b[2Jhome", "password1", "ssid"),
        ("x" * 33, "password1", "ssid"),
        ("Home", "password1\nipv4.method manual", "password"),
        ("Home", "pässwörd-123", "password"),
        ("Home", "short", "password"),
        ("Home", "p" * 64, "password"),
    ],
)
async def test_wifi_injection_attempts_are_rejected(
    client: Client, appliance: Appliance, ssid: str, password: str, field: str
) -> None:
    await appliance.commissioning.start()
    token = await _token(client, "/commissioning/wifi")
    response = await client.post(
        "/commissioning/wifi", data={"ssid": ssid, "password": password, "csrf_token": token}
    )
    assert response.status == 400
    assert f'id="{field}-error"' in await response.text()
    assert not appliance.store.path.exists()
    assert HOME_WIFI_CONNECTION not in appliance.network.connections


async def test_markup_in_an_ssid_is_data_not_code(client: Client, appliance: Appliance) -> None:
    """Quotes and angle brackets are legal in an SSID: stored as typed, shown escaped,
    and handed to NetworkManager as one argument."""
    await appliance.commissioning.start()
    token = await _token(client, "/commissioning/wifi")
    ssid = '<script>x</script>";$(reboot)'
    await client.post(
        "/commissioning/wifi", data={"ssid": ssid, "password": "", "csrf_token": token}
    )
    for task in list(client.app[BACKGROUND].tasks):
        await task
    assert _stored(appliance).wifi.ssid == ssid
    text = await (await client.get("/commissioning/wifi")).text()
    assert "<script>x" not in text
    assert "&lt;script&gt;x&lt;/script&gt;&#34;;$(reboot)" in text
    assert appliance.network.connections[HOME_WIFI_CONNECTION]["802-11-wireless.ssid"] == ssid


async def test_missing_or_wrong_csrf_token_is_refused(client: Client, appliance: Appliance) -> None:
    await appliance.commissioning.start()
    await _token(client)  # a session exists, but the form lacks its token
    response = await client.post("/commissioning/grid", data=GRID_FORM)
    assert response.status == 403
    assert "expired" in await response.text()
    response = await client.post("/commissioning/grid", data=GRID_FORM | {"csrf_token": "0" * 64})
    assert response.status == 403
    assert not appliance.store.path.exists()


async def test_post_without_session_is_refused(appliance: Appliance) -> None:
    await appliance.commissioning.start()
    async with TestClient(web_server(appliance)) as fresh:
        response = await fresh.post("/commissioning/grid", data=GRID_FORM | {"csrf_token": "x"})
        assert response.status == 403
        assert "no session" in await response.text()
    assert not appliance.store.path.exists()


async def test_cross_site_post_is_refused(client: Client, appliance: Appliance) -> None:
    await appliance.commissioning.start()
    token = await _token(client)
    response = await client.post(
        "/commissioning/grid",
        data=GRID_FORM | {"csrf_token": token},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status == 403
    assert not appliance.store.path.exists()


async def test_wrong_content_types_are_refused(client: Client, appliance: Appliance) -> None:
    await appliance.commissioning.start()
    token = await _token(client)
    as_json = await client.post(
        "/commissioning/grid",
        data=json.dumps(GRID_FORM | {"csrf_token": token}),
        headers={"Content-Type": "application/json"},
    )
    assert as_json.status == 415
    multipart = FormData(GRID_FORM | {"csrf_token": token})
    multipart.add_field("file", b"x", filename="x.bin")
    as_multipart = await client.post("/commissioning/grid", data=multipart)
    assert as_multipart.status == 415
    assert not appliance.store.path.exists()


async def test_oversized_bodies_are_refused(client: Client, appliance: Appliance) -> None:
    await appliance.commissioning.start()
    token = await _token(client)
    huge = GRID_FORM | {"csrf_token": token, "padding": "x" * 100_000}
    response = await client.post("/commissioning/grid", data=huge)
    assert response.status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"a=" + b"x" * 1000 + b"&"

    chunked = await client.post(
        "/commissioning/grid",
        data=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status == 413
    assert not appliance.store.path.exists()


async def test_security_headers_and_cookie(client: Client, appliance: Appliance) -> None:
    response = await client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


async def test_stylesheet_is_served_locally(client: Client) -> None:
    text = await (await client.get("/")).text()
    assert "http://" not in text.replace("http://192.168.11.1/", "")
    assert "https://" not in text
    css = await client.get("/static/style.css")
    assert css.status == 200
    assert "font-family" in await css.text()


async def test_create_app_takes_extra_setups(appliance: Appliance) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="extra")

    def setup_extra(app: web.Application, ctx: object) -> None:
        app.router.add_get("/extra-page", hello)

    app = create_app(appliance.ctx, extra_setups=[setup_extra])
    assert any(
        r.resource is not None and r.resource.canonical == "/extra-page"
        for r in app.router.routes()
    )
    assert not any(
        r.resource is not None and r.resource.canonical == "/extra-page"
        for r in create_app(appliance.ctx).router.routes()
    )


async def test_wifi_page_shows_progress_while_the_radio_tries(
    client: Client, appliance: Appliance
) -> None:
    await appliance.commissioning.start()
    released = asyncio.Event()
    real_activate = appliance.network.activate

    async def slow_activate(name: str) -> None:
        if name == HOME_WIFI_CONNECTION:
            await released.wait()  # NetworkManager is still trying the router
        await real_activate(name)

    appliance.network.activate = slow_activate  # type: ignore[method-assign]
    token = await _token(client, "/commissioning/wifi")
    await client.post(
        "/commissioning/wifi",
        data={"ssid": HOME_SSID, "password": HOME_PASSWORD, "csrf_token": token},
    )
    page = await (await client.get("/commissioning/wifi")).text()
    assert "Connecting to “HomeNetwork”…" in page
    assert '<meta http-equiv="refresh" content="3">' in page
    released.set()
    for task in list(client.app[BACKGROUND].tasks):
        await task
    page = await (await client.get("/commissioning/wifi")).text()
    assert "Connected to “HomeNetwork”" in page
    assert 'http-equiv="refresh"' not in page


async def test_a_link_cannot_make_the_page_announce_anything(
    client: Client, appliance: Appliance
) -> None:
    await appliance.commissioning.start()
    page = await client.get("/commissioning/grid?saved=1&notice=Call+0800+for+support")
    text = await page.text()
    assert "Call 0800" not in text
    assert "Saved." not in text


@pytest.mark.parametrize(("simulate", "status"), [(True, 200), (False, 404)])
async def test_virtual_panel_is_mounted_only_in_simulation(
    appliance: Appliance, simulate: bool, status: int
) -> None:
    appliance.ctx.simulate = simulate
    appliance.ctx.services["panel"] = object()  # the page itself needs nothing from it
    async with TestClient(web_server(appliance)) as panel_client:
        response = await panel_client.get("/panel")
        assert response.status == status


async def test_status_hidden_when_the_owner_closed_read_only_access(
    client: Client, appliance: Appliance
) -> None:
    current = appliance.ctx.settings.current
    appliance.ctx.settings.update(
        current.with_section("remote", current.remote.model_copy(update={"read_only_open": False}))
    )
    text = await (await client.get("/")).text()
    assert "Commissioning is not active" in text
    assert "1234567890" not in text
