"""The "Remote access" commissioning page over HTTP: password, open read access, MQTT broker."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from appliance.clock import FakeClock
from appliance.remote.auth import verify_password
from appliance.settings import Settings
from appliance.web.app import create_app
from tests.commissioning.harness import Appliance, build_appliance

Client = TestClient[web.Request, web.Application]
PAGE = "/commissioning/remote"
PASSWORD = "solar panels 2026"
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')

VALID = {
    "new_password": PASSWORD,
    "repeat_password": PASSWORD,
    "read_only_open": "False",
    "mqtt_host": "homeassistant.local",
    "mqtt_port": "1884",
    "mqtt_username": "scc",
    "mqtt_password": "broker secret",
    "mqtt_prefix": "home/scc",
}


@pytest.fixture
def appliance(state_dir: Path, clock: FakeClock) -> Appliance:
    return build_appliance(state_dir, clock)


@pytest.fixture
async def client(appliance: Appliance) -> AsyncIterator[Client]:
    server = TestServer(create_app(appliance.ctx), host="127.0.0.1", port=0)
    async with TestClient(server) as test_client:
        await appliance.commissioning.start()
        yield test_client


async def _post(client: Client, form: dict[str, str]) -> tuple[int, str]:
    page = await client.get(PAGE)
    assert page.status == 200
    match = _TOKEN.search(await page.text())
    assert match is not None
    response = await client.post(PAGE, data=form | {"csrf_token": match.group(1)})
    return response.status, await response.text()


def _error_for(html: str, name: str) -> str:
    match = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


def _stored(appliance: Appliance) -> Settings:
    return appliance.store.load()


async def test_page_is_closed_outside_commissioning(appliance: Appliance) -> None:
    async with TestClient(TestServer(create_app(appliance.ctx), port=0)) as client:
        response = await client.get(PAGE)
        assert response.status == 403
        response = await client.post(PAGE, data=VALID)
        assert response.status == 403
    assert not appliance.store.path.exists()


async def test_page_shows_every_field_and_no_password(client: Client) -> None:
    response = await client.get(PAGE)
    html = await response.text()
    for name in VALID:
        assert f'name="{name}"' in html
    assert "No device password yet" in html
    assert 'href="/commissioning/remote" aria-current="page"' in html


async def test_valid_form_stores_a_hash_and_the_broker(
    client: Client, appliance: Appliance
) -> None:
    status, html = await _post(client, VALID)
    assert status == 200, html  # after the redirect
    assert "Saved." in html
    assert "New device password set" in html
    remote = _stored(appliance).remote
    assert remote.password_hash.startswith("scrypt$")
    assert PASSWORD not in remote.password_hash
    assert verify_password(PASSWORD, remote.password_hash)
    assert not remote.read_only_open
    assert (remote.mqtt_host, remote.mqtt_port, remote.mqtt_username) == (
        "homeassistant.local",
        1884,
        "scc",
    )
    assert (remote.mqtt_password, remote.mqtt_prefix) == ("broker secret", "home/scc")
    assert appliance.ctx.settings.current.remote == remote  # in force at once
    assert PASSWORD not in html  # secrets are never sent back
    assert "broker secret" not in html


async def test_broker_without_login_and_no_password_yet(
    client: Client, appliance: Appliance
) -> None:
    form = VALID | {"new_password": "", "repeat_password": "", "mqtt_username": ""}
    status, html = await _post(client, form | {"mqtt_password": "", "mqtt_host": "10.0.0.2"})
    assert status == 200, html
    remote = _stored(appliance).remote
    assert (remote.mqtt_host, remote.mqtt_username, remote.mqtt_password) == ("10.0.0.2", "", "")
    assert remote.password_hash == ""  # still none: changes from the network stay refused


async def test_empty_password_fields_keep_what_is_stored(
    client: Client, appliance: Appliance
) -> None:
    await _post(client, VALID)
    stored_hash = _stored(appliance).remote.password_hash
    form = VALID | {"new_password": "", "repeat_password": "", "mqtt_password": ""}
    status, html = await _post(client, form | {"mqtt_prefix": "scc2"})
    assert status == 200
    assert "New device password set" not in html
    remote = _stored(appliance).remote
    assert remote.password_hash == stored_hash
    assert remote.mqtt_password == "broker secret"
    assert remote.mqtt_prefix == "scc2"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"new_password": "short", "repeat_password": "short"}, "new_password", "10 to 128"),
        ({"repeat_password": PASSWORD + "x"}, "repeat_password", "differ"),
        ({"new_password": ""}, "new_password", "Enter the new password"),
        (
            {"new_password": "tab\tinside pw", "repeat_password": "tab\tinside pw"},
            "new_password",
            "printable",
        ),
        ({"mqtt_port": "70000"}, "mqtt_port", "at most 65535"),
        ({"mqtt_port": "port"}, "mqtt_port", "whole number"),
        ({"mqtt_host": "bad host; rm -rf"}, "mqtt_host", "host name"),
        ({"mqtt_prefix": "scc/#"}, "mqtt_prefix", "no + or #"),
        ({"mqtt_prefix": ""}, "mqtt_prefix", "Required"),
        ({"read_only_open": "maybe"}, "read_only_open", "Choose one"),
        ({"mqtt_username": "x" * 200}, "mqtt_username", "At most 128"),
    ],
)
async def test_bad_input_is_refused_next_to_its_field(
    client: Client, appliance: Appliance, changes: dict[str, str], field: str, message: str
) -> None:
    status, html = await _post(client, VALID | changes)
    assert status == 400
    assert "Not saved." in html
    assert message in _error_for(html, field), html
    assert not appliance.store.path.exists()  # nothing stored
    assert appliance.ctx.settings.current.remote.password_hash == ""


async def test_missing_csrf_token_stores_nothing(client: Client, appliance: Appliance) -> None:
    await client.get(PAGE)  # a session, but no token in the form
    response = await client.post(PAGE, data=VALID)
    assert response.status == 403
    assert not appliance.store.path.exists()


async def test_new_password_ends_every_api_login(client: Client) -> None:
    await _post(client, VALID)
    login = await client.post("/api/login", json={"password": PASSWORD})
    assert login.status == 200
    token = (await login.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    put = await client.put("/api/mode", json={"mode": "eco"}, headers=headers)
    assert put.status == 200

    other = "another password 42"
    await _post(client, VALID | {"new_password": other, "repeat_password": other})
    put = await client.put("/api/mode", json={"mode": "eco+"}, headers=headers)
    assert put.status == 401  # the old token died with the old password
    assert (await client.post("/api/login", json={"password": PASSWORD})).status == 401
    assert (await client.post("/api/login", json={"password": other})).status == 200
