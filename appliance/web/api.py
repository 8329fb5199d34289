"""The REST API (`/api/...`, described by `/api/openapi.json`).

Reads are open on the home network when `remote.read_only_open` is set; changes always need a
bearer token from `/api/login`. Token requests are exempt from the form CSRF check: browsers
never attach an `Authorization` header by themselves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from appliance import __version__
from appliance.errors import ApplianceError
from appliance.modes import ChargeMode, available_modes
from appliance.panel.content import collect_versions
from appliance.remote.auth import LoginLimiter, TokenStore, verify_password
from appliance.remote.history import History
from appliance.runtime.context import RuntimeContext
from appliance.serialize import public_settings, reading_to_dict, reported_to_dict
from appliance.settings import Settings
from appliance.web.keys import CONTEXT
from appliance.web.openapi import openapi_document
from appliance.web.security import csrf_exempt

log = logging.getLogger(__name__)

HISTORY_SERVICE = "history"  # appliance.runtime.history records it
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class ApiAccess:
    tokens: TokenStore
    limiter: LoginLimiter


API_ACCESS = web.AppKey("api_access", ApiAccess)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _ctx(request: web.Request) -> RuntimeContext:
    return request.config_dict[CONTEXT]


def has_token(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and request.config_dict[API_ACCESS].tokens.valid(token)


def read_access(handler: Handler) -> Handler:
    """Open when read-only access is allowed on the LAN, else only with a token."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not (_ctx(request).settings.current.remote.read_only_open or has_token(request)):
            return error(
                401,
                "read access is closed on this device: log in first",
                {"WWW-Authenticate": "Bearer"},
            )
        return await handler(request)

    return guarded


async def json_body(request: web.Request) -> dict[str, Any] | web.Response:
    if request.content_type != "application/json":
        return error(415, "send the request body as application/json")
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return error(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        return error(400, "the body must be a JSON object")
    return body


def _plain(value: Any) -> Any:
    """Dataclass fields as JSON values (enums by value)."""
    if isinstance(value, enum.Enum):
        return value.value
    return value


def mode_document(settings: Settings) -> dict[str, Any]:
    mode = settings.control.charge_mode
    offered = available_modes(settings.grid.phases, settings.grid.max_charge_current_a)
    return {
        "mode": mode.to_str(),
        "label": mode.label,
        "available": [{"mode": m.to_str(), "label": m.label} for m in offered],
    }


@read_access
async def get_health(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    reading, reported = ctx.hub.readings.latest, ctx.hub.reported.latest
    age = None if reading is None else round(reading.age_s(ctx.clock.monotonic()), 3)
    failsafe = reported.failsafe if reported is not None else True
    if reading is None:
        status = "starting"
    elif failsafe or not reading.valid:
        status = "degraded"
    else:
        status = "ok"
    faults = sorted(f.value for f in reading.all_faults()) if reading else []
    return web.json_response(
        {
            "status": status,
            "version": __version__,
            "failsafe": failsafe,
            "reading_age_s": age,
            "faults": faults,
        }
    )


@read_access
async def get_versions(request: web.Request) -> web.Response:
    rows = collect_versions(_ctx(request).identity.device_number)
    return web.json_response(dict(rows))


@read_access
async def get_readings(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    reading = ctx.hub.readings.latest
    if reading is None:
        return error(503, "no reading yet")
    return web.json_response(reading_to_dict(reading, ctx.clock.monotonic()))


@read_access
async def get_reported(request: web.Request) -> web.Response:
    reported = _ctx(request).hub.reported.latest
    if reported is None:
        return error(503, "nothing reported yet")
    return web.json_response(reported_to_dict(reported))


@read_access
async def get_history(request: web.Request) -> web.Response:
    history = _ctx(request).services.get(HISTORY_SERVICE)
    try:
        since = float(request.query.get("since", "0"))
    except ValueError:
        return error(400, "since must be a number (Unix time)")
    if not since >= 0:  # also refuses NaN
        return error(400, "since must be a Unix time of 0 or more")
    if not isinstance(history, History):
        return web.json_response({"time": []})
    return web.Response(body=history.series_json(since), content_type="application/json")


@read_access
async def get_settings(request: web.Request) -> web.Response:
    return web.json_response(public_settings(_ctx(request).settings.current))


@read_access
async def get_control(request: web.Request) -> web.Response:
    service = _ctx(request).services.get("control")
    if service is None:
        return error(503, "the controller is not running")
    status = service.status()
    data = {f.name: _plain(getattr(status, f.name)) for f in dataclasses.fields(status)}
    return web.json_response(data | {"failsafe": status.failsafe})


@read_access
async def get_modbus_log(request: web.Request) -> web.Response:
    log_service = _ctx(request).services.get("modbus_log")
    if log_service is None:
        return error(503, "the Modbus server is not running")
    return web.json_response(log_service.snapshot())


@read_access
async def get_mode(request: web.Request) -> web.Response:
    return web.json_response(mode_document(_ctx(request).settings.current))


def requested_mode(body: dict[str, Any], settings: Settings) -> ChargeMode | web.Response:
    text = body.get("mode")
    if not isinstance(text, str) or set(body) != {"mode"}:
        return error(400, 'send {"mode": "eco+" | "eco" | "capacity:<kW>"}')
    try:
        mode = ChargeMode.parse(text)
    except ValueError as exc:
        return error(400, str(exc))
    if mode not in available_modes(settings.grid.phases, settings.grid.max_charge_current_a):
        return error(400, f"{mode.label} is not offered with this charger's maximum current")
    return mode


@csrf_exempt
async def put_mode(request: web.Request) -> web.Response:
    if not has_token(request):
        return error(401, "log in to change the mode", {"WWW-Authenticate": "Bearer"})
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    ctx = _ctx(request)
    settings = ctx.settings.current
    mode = requested_mode(body, settings)
    if isinstance(mode, web.Response):
        return mode
    if mode != settings.control.charge_mode:
        try:
            ctx.settings.update(settings.with_mode(mode))
        except (OSError, ApplianceError) as exc:
            log.error("cannot save the mode: %s", exc)
            return error(503, "the mode could not be saved; the previous mode stays in force")
    return web.json_response(mode_document(ctx.settings.current))


@csrf_exempt
async def post_login(request: web.Request) -> web.Response:
    access = request.config_dict[API_ACCESS]
    client = request.remote or "unknown"
    wait = access.limiter.retry_after_s(client)
    if wait > 0:
        return error(
            429,
            f"too many failed logins; try again in {wait:.0f} s",
            {"Retry-After": str(max(1, round(wait)))},
        )
    stored = _ctx(request).settings.current.remote.password_hash
    if not stored:
        return error(409, "no password is set yet: set one during commissioning")
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    password = body.get("password")
    if not isinstance(password, str) or set(body) != {"password"} or len(password) > 128:
        return error(400, 'send {"password": "..."}')
    if not await asyncio.to_thread(verify_password, password, stored):
        access.limiter.failed(client)
        return error(401, "wrong password")
    access.limiter.succeeded(client)
    return web.json_response(
        {"token": access.tokens.issue(), "expires_in_s": access.tokens.lifetime_s}
    )


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def setup_api(app: web.Application, ctx: RuntimeContext) -> None:
    app[API_ACCESS] = ApiAccess(TokenStore(ctx.clock), LoginLimiter(ctx.clock))
    router = app.router
    router.add_get("/api/openapi.json", get_openapi)
    router.add_get("/api/health", get_health)
    router.add_get("/api/versions", get_versions)
    router.add_get("/api/readings", get_readings)
    router.add_get("/api/reported", get_reported)
    router.add_get("/api/history", get_history)
    router.add_get("/api/settings", get_settings)
    router.add_get("/api/control", get_control)
    router.add_get("/api/modbus/log", get_modbus_log)
    router.add_get("/api/mode", get_mode)
    router.add_put("/api/mode", put_mode)
    router.add_post("/api/login", post_login)
