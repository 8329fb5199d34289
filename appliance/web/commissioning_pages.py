"""The commissioning web pages (SCC manual 6.1): Grid, Meter and Wi-Fi settings.

They live in a sub-application under /commissioning/ whose gate lets requests through only
while commissioning runs and only from the access point's station (or this machine, in
simulation). A saved form goes through `ctx.settings.update`, which validates, persists and
publishes it: the controller, the Modbus server and the metering source react to the change.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from appliance import __version__
from appliance.commissioning import (
    COMMISSIONING_URL,
    NetworkCommissioning,
    apply_meter_address,
    is_commissioning_peer,
)
from appliance.errors import SettingsError
from appliance.remote.auth import hash_password
from appliance.runtime.context import RuntimeContext
from appliance.settings import Settings
from appliance.web.api import API_ACCESS
from appliance.web.forms import (
    GRID_PAGE,
    WIFI_PAGE,
    FormOutcome,
    FormPage,
    form_values,
    meter_choices,
    meter_page,
    submit_form,
)
from appliance.web.keys import (
    BACKGROUND_TASKS,
    CONTEXT,
    SAVED_NOTICES,
    BackgroundTasks,
    SavedNotices,
)
from appliance.web.remote_form import REMOTE_PAGE, submit_remote_form, with_password_hash
from appliance.web.security import SESSION_COOKIE, csrf_token
from drivers.errors import NetworkError

log = logging.getLogger(__name__)

PREFIX = "/commissioning"
# Ports the appliance or the access point's services need for themselves.
RESERVED_PORTS: Mapping[int, str] = {22: "SSH", 53: "DNS", 67: "DHCP", 68: "DHCP"}


def _pages() -> tuple[FormPage, ...]:
    return (GRID_PAGE, meter_page(meter_choices()), WIFI_PAGE, REMOTE_PAGE)


def _ctx(request: web.Request) -> RuntimeContext:
    return request.config_dict[CONTEXT]


def _service(ctx: RuntimeContext) -> Any:
    return ctx.services.get("commissioning")


def commissioning_allowed(request: web.Request) -> bool:
    ctx = _ctx(request)
    service = _service(ctx)
    if service is None or not service.status().active:
        return False
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    local = str(sockname[0]) if sockname else None
    return is_commissioning_peer(request.remote, local, allow_loopback=ctx.simulate)


def _closed_page(request: web.Request, status: int) -> web.Response:
    ctx = _ctx(request)
    service = _service(ctx)
    active = service is not None and service.status().active
    return aiohttp_jinja2.render_template(
        "closed.html",
        request,
        {
            "active": active,
            "simulate": ctx.simulate,
            # Read-only status on the home network only if the owner allows it (remote settings).
            "show_status": ctx.settings.current.remote.read_only_open,
            "version": __version__,
            "mode": ctx.settings.current.control.charge_mode.label,
            "device_number": ctx.identity.device_number,
            "url": COMMISSIONING_URL,
        },
        status=status,
    )


@web.middleware
async def commissioning_gate(request: web.Request, handler: Any) -> web.StreamResponse:
    if not commissioning_allowed(request):
        return _closed_page(request, 403)
    response: web.StreamResponse = await handler(request)
    return response


def _render(
    request: web.Request,
    page: FormPage,
    values: Mapping[str, str],
    outcome: FormOutcome | None = None,
    status: int = 200,
) -> web.Response:
    ctx = _ctx(request)
    service = _service(ctx)
    network_service = service if isinstance(service, NetworkCommissioning) else None
    notices = request.config_dict[SAVED_NOTICES].pop(_session(request), None)
    saved = outcome is None and notices is not None
    return aiohttp_jinja2.render_template(
        f"{page.slug}.html",
        request,
        {
            "page": page,
            "pages": _pages(),
            "values": values,
            "errors": outcome.errors if outcome else {},
            "form_error": outcome.form_error if outcome else "",
            "notices": notices or [],
            "saved": saved,
            "csrf_token": csrf_token(request),
            "status": service.status(),
            "remaining_s": int(network_service.remaining_s()) if network_service else None,
            "networks": network_service.networks if network_service else [],
            "testing_wifi": network_service.testing_wifi if network_service else False,
            "wifi_result": network_service.home_wifi_result if network_service else None,
            "stored_ssid": ctx.settings.current.wifi.ssid,
            "password_set": bool(ctx.settings.current.remote.password_hash),
        },
        status=status,
    )


def _session(request: web.Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def _saved_redirect(
    request: web.Request, page: FormPage, outcome: FormOutcome, extra: list[str]
) -> web.HTTPSeeOther:
    """Post/redirect/get; the "saved" banner and its notices wait for the session's next page
    (kept on the server, so no link can make the page say something it did not)."""
    request.config_dict[SAVED_NOTICES][_session(request)] = [*outcome.notices, *extra]
    return web.HTTPSeeOther(f"{PREFIX}/{page.slug}")


async def _form(request: web.Request) -> dict[str, str]:
    posted = await request.post()  # parsed (and size-checked) by the security layer already
    return {k: v for k, v in posted.items() if isinstance(v, str)}


def _store(ctx: RuntimeContext, settings: Settings) -> str:
    try:
        ctx.settings.update(settings)
    except (OSError, SettingsError) as exc:
        log.error("settings not saved: %s", exc)
        return f"The settings could not be saved: {exc}"
    return ""


# --- Grid settings -------------------------------------------------------------------------


async def grid_get(request: web.Request) -> web.Response:
    return _render(request, GRID_PAGE, form_values(GRID_PAGE, _ctx(request).settings.current))


async def grid_post(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    outcome = submit_form(GRID_PAGE, ctx.settings.current, await _form(request))
    if outcome.settings is not None:
        outcome.form_error = _store(ctx, outcome.settings)
        if not outcome.form_error:
            raise _saved_redirect(request, GRID_PAGE, outcome, [])
    return _render(request, GRID_PAGE, outcome.values, outcome, status=400)


# --- Meter settings ------------------------------------------------------------------------


def port_in_use(port: int) -> bool:
    """Whether another program listens on `port` (a privileged port we may not probe is not)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - probing every address on purpose
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def port_problem(request: web.Request, port: int, settings: Settings) -> str:
    if port in RESERVED_PORTS:
        return f"Port {port} is reserved for {RESERVED_PORTS[port]}."
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if sockname and sockname[1] == port:
        return f"Port {port} is used by these web pages."
    if port == settings.p1.tcp_port:
        return f"Port {port} is used by the P1 telegram stream."
    if port != settings.meter.modbus_port and port_in_use(port):
        return f"Port {port} is in use by another program."
    return ""


async def meter_get(request: web.Request) -> web.Response:
    page = meter_page(meter_choices())
    return _render(request, page, form_values(page, _ctx(request).settings.current))


async def meter_post(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    page = meter_page(meter_choices())
    current = ctx.settings.current
    outcome = submit_form(page, current, await _form(request))
    if outcome.settings is not None:
        problem = port_problem(request, outcome.settings.meter.modbus_port, current)
        if problem:
            outcome.errors["modbus_port"] = problem
        else:
            outcome.form_error = _store(ctx, outcome.settings)
            if not outcome.form_error:
                notice = await _apply_ethernet(ctx, outcome.settings)
                raise _saved_redirect(request, page, outcome, [notice] if notice else [])
    return _render(request, page, outcome.values, outcome, status=400)


async def _apply_ethernet(ctx: RuntimeContext, settings: Settings) -> str:
    network = ctx.services.get("network")
    if network is None:
        return "The Ethernet address is not managed here."
    meter = settings.meter
    try:
        changed = await apply_meter_address(network, meter)
    except NetworkError as exc:
        log.error("Ethernet address not applied: %s", exc)
        return f"The Ethernet address could not be set: {exc}"
    if not changed:
        return ""
    return f"Ethernet port set to {meter.ip_address}/{meter.prefix_length}."


# --- Wi-Fi settings ------------------------------------------------------------------------


async def wifi_get(request: web.Request) -> web.Response:
    values = form_values(WIFI_PAGE, _ctx(request).settings.current)
    chosen = request.query.get("ssid")
    if chosen is not None and len(chosen) <= 64:
        values["ssid"] = chosen  # picked from the list of networks in range
    return _render(request, WIFI_PAGE, values)


async def wifi_post(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    outcome = submit_form(WIFI_PAGE, ctx.settings.current, await _form(request))
    if outcome.settings is not None and not outcome.settings.wifi.ssid:
        outcome.errors["ssid"] = "Enter the name of the home network."
        outcome.settings = None
    if outcome.settings is not None:
        outcome.form_error = _store(ctx, outcome.settings)
        if not outcome.form_error:
            _start_wifi_test(request, ctx, outcome.settings)
            raise web.HTTPSeeOther(f"{PREFIX}/wifi")
    return _render(request, WIFI_PAGE, outcome.values, outcome, status=400)


def _start_wifi_test(request: web.Request, ctx: RuntimeContext, settings: Settings) -> None:
    service = _service(ctx)
    if not isinstance(service, NetworkCommissioning):
        return
    # The page reads the result from the service; the request must not wait for it, because
    # the phone loses its connection while the radio tries the home network.
    request.config_dict[BACKGROUND_TASKS].start(service.connect_home_wifi(settings.wifi))


# --- Remote access (dashboard, REST API, MQTT) -------------------------------------------------


async def remote_get(request: web.Request) -> web.Response:
    return _render(request, REMOTE_PAGE, form_values(REMOTE_PAGE, _ctx(request).settings.current))


async def remote_post(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    result = submit_remote_form(ctx.settings.current, await _form(request))
    outcome = result.form
    if outcome.settings is not None:
        settings = outcome.settings
        if result.new_password is not None:
            # scrypt is slow on purpose: off the loop, so metering and Modbus keep their pace.
            password_hash = await asyncio.to_thread(hash_password, result.new_password)
            settings = with_password_hash(settings, password_hash)
        outcome.form_error = _store(ctx, settings)
        if not outcome.form_error:
            notices = []
            if result.new_password is not None:
                _revoke_api_tokens(request)
                notices.append("New device password set: every earlier login has ended.")
            raise _saved_redirect(request, REMOTE_PAGE, outcome, notices)
    return _render(request, REMOTE_PAGE, outcome.values, outcome, status=400)


def _revoke_api_tokens(request: web.Request) -> None:
    access = request.config_dict.get(API_ACCESS)
    if access is not None:
        access.tokens.revoke_all()


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"{PREFIX}/{GRID_PAGE.slug}")


def setup_commissioning_pages(app: web.Application, ctx: RuntimeContext) -> None:
    pages = web.Application(middlewares=[commissioning_gate])
    pages.router.add_get("/", index)
    pages.router.add_get("/grid", grid_get, name="grid")
    pages.router.add_post("/grid", grid_post)
    pages.router.add_get("/meter", meter_get, name="meter")
    pages.router.add_post("/meter", meter_post)
    pages.router.add_get("/wifi", wifi_get, name="wifi")
    pages.router.add_post("/wifi", wifi_post)
    pages.router.add_get("/remote", remote_get, name="remote")
    pages.router.add_post("/remote", remote_post)
    background = BackgroundTasks()
    app[BACKGROUND_TASKS] = background
    app[SAVED_NOTICES] = SavedNotices()
    app.on_shutdown.append(background.cancel_all)
    app.add_subapp(f"{PREFIX}/", pages)


async def home(request: web.Request) -> web.Response:
    """The address the OLED shows: the pages while commissioning, else a read-only status."""
    if commissioning_allowed(request):
        raise web.HTTPFound(f"{PREFIX}/{GRID_PAGE.slug}")
    return _closed_page(request, 200)


def setup_home_page(app: web.Application, ctx: RuntimeContext) -> None:
    app.router.add_get("/", home, name="home")
