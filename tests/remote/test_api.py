from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from appliance.clock import FakeClock
from appliance.grid import ReportedGrid
from appliance.remote.auth import hash_password
from appliance.remote.history import History
from appliance.runtime.context import RuntimeContext
from appliance.settings import SettingsStore
from appliance.web.app import create_app
from tests.remote.test_homeassistant import reading

PASSWORD = "correct horse battery"
Client = TestClient[web.Request, web.Application]


def set_password(ctx: RuntimeContext, password: str = PASSWORD, open_reads: bool = True) -> None:
    settings = ctx.settings.current
    remote = settings.remote.model_copy(
        update={"password_hash": hash_password(password), "read_only_open": open_reads}
    )
    ctx.settings.update(settings.with_section("remote", remote))


def publish(ctx: RuntimeContext, *currents: float) -> None:
    measured = reading(*currents)
    reported = ReportedGrid.passthrough(measured)
    ctx.hub.readings.publish(measured)
    ctx.hub.reported.publish(reported)
    history = ctx.services.setdefault("history", History())
    history.add(reported)


@pytest.fixture
async def client(runtime_context: RuntimeContext) -> AsyncIterator[Client]:
    app = create_app(runtime_context)  # the API and dashboard are default parts
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


async def login(client: Client, password: str = PASSWORD) -> str:
    response = await client.post("/api/login", json={"password": password})
    assert response.status == 200, await response.text()
    token = (await response.json())["token"]
    assert isinstance(token, str)
    return token


async def test_readings_and_reported_values(
    client: Client, runtime_context: RuntimeContext
) -> None:
    assert (await client.get("/api/readings")).status == 503
    publish(runtime_context, 10.0, -2.0, 0.5)
    body = await (await client.get("/api/readings")).json()
    assert [p["signed_current_a"] for p in body["phases"]] == [10.0, -2.0, 0.5]
    reported = await (await client.get("/api/reported")).json()
    assert reported["failsafe"] is False
    assert reported["phases"][1]["current_a"] == 2.0
    health = await (await client.get("/api/health")).json()
    assert health["status"] == "ok"


async def test_history_returns_only_newer_points(
    client: Client, runtime_context: RuntimeContext, clock: FakeClock
) -> None:
    publish(runtime_context, 1.0, 1.0, 1.0)
    series = await (await client.get("/api/history")).json()
    assert len(series["time"]) == 1
    assert series["grid_l1_a"] == [1.0]
    newer = await (await client.get(f"/api/history?since={series['time'][0]}")).json()
    assert newer["time"] == []
    assert (await client.get("/api/history?since=nan")).status == 400
    assert (await client.get("/api/history?since=abc")).status == 400


async def test_settings_never_show_secrets(client: Client, runtime_context: RuntimeContext) -> None:
    set_password(runtime_context)
    body = await (await client.get("/api/settings")).json()
    assert "password_hash" not in body["remote"]
    assert body["remote"]["password_hash_set"] is True
    assert "password" not in body["wifi"]


async def test_mode_change_needs_a_token_and_persists(
    client: Client, runtime_context: RuntimeContext
) -> None:
    set_password(runtime_context)
    refused = await client.put("/api/mode", json={"mode": "capacity:9"})
    assert refused.status == 401
    token = await login(client)
    headers = {"Authorization": f"Bearer {token}"}
    changed = await client.put("/api/mode", json={"mode": "capacity:9"}, headers=headers)
    assert changed.status == 200
    assert (await changed.json())["label"] == "CAPACITY 9 kW"
    assert runtime_context.settings.current.control.mode == "capacity:9"
    stored = SettingsStore(runtime_context.state_dir / "settings.json").load()
    assert stored.control.mode == "capacity:9"
    mode = await (await client.get("/api/mode")).json()
    assert mode["mode"] == "capacity:9"
    assert mode["available"][0] == {"mode": "eco+", "label": "ECO+ (PV only)"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"mode": "turbo"}, 400),
        ({"mode": "capacity:23"}, 400),
        ({"mode": 7}, 400),
        ({"mode": "eco", "extra": 1}, 400),
        (["eco"], 400),
    ],
)
async def test_bad_mode_requests_change_nothing(
    client: Client, runtime_context: RuntimeContext, body: object, status: int
) -> None:
    set_password(runtime_context)
    headers = {"Authorization": f"Bearer {await login(client)}"}
    response = await client.put("/api/mode", json=body, headers=headers)
    assert response.status == status
    assert "error" in await response.json()
    assert runtime_context.settings.current.control.mode == "eco+"


async def test_wrong_content_type_is_refused(
    client: Client, runtime_context: RuntimeContext
) -> None:
    set_password(runtime_context)
    headers = {"Authorization": f"Bearer {await login(client)}", "Content-Type": "text/plain"}
    response = await client.put("/api/mode", data="eco", headers=headers)
    assert response.status == 415


async def test_failed_logins_are_rate_limited(
    client: Client, runtime_context: RuntimeContext, clock: FakeClock
) -> None:
    set_password(runtime_context)
    for _ in range(5):
        assert (await client.post("/api/login", json={"password": "wrong guess!"})).status == 401
    limited = await client.post("/api/login", json={"password": PASSWORD})
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) > 0
    clock.advance(301)
    assert (await client.post("/api/login", json={"password": PASSWORD})).status == 200


async def test_no_password_means_no_changes(client: Client) -> None:
    response = await client.post("/api/login", json={"password": "anything at all"})
    assert response.status == 409


async def test_closed_reads_need_a_token(client: Client, runtime_context: RuntimeContext) -> None:
    set_password(runtime_context, open_reads=False)
    publish(runtime_context, 1.0, 2.0, 3.0)
    assert (await client.get("/api/readings")).status == 401
    token = await login(client)
    response = await client.get("/api/readings", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


async def test_openapi_document_lists_every_route(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    routes = {
        resource.canonical
        for resource in client.app.router.resources()
        if resource.canonical.startswith("/api/") and resource.canonical != "/api/openapi.json"
    }
    assert routes == set(document["paths"])


async def test_default_app_serves_the_dashboard_behind_the_security_layer(client: Client) -> None:
    home = await client.get("/")
    assert 'href="/dashboard"' in await home.text()
    page = await client.get("/dashboard")
    assert page.status == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = await page.text()
    for asset in ("uPlot.iife.min.js", "dashboard.js", "dashboard.css"):
        assert asset in html
    script = await client.get("/static/dashboard.js")
    assert script.status == 200
    # The API checks its bearer token itself (401), not the form CSRF token (403).
    assert (await client.put("/api/mode", json={"mode": "eco"})).status == 401
