"""The home owner's dashboard on the home network: live values, charts of the last hour, the
charge mode, and a mirror of the OLED and LEDs. Data comes from the REST API (`/api/...`)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from appliance.runtime.context import RuntimeContext
from appliance.web.api import error, read_access
from appliance.web.keys import CONTEXT


async def dashboard_page(request: web.Request) -> web.Response:
    ctx = request.config_dict[CONTEXT]
    return aiohttp_jinja2.render_template(
        "dashboard.html",
        request,
        {
            "device_number": ctx.identity.device_number,
            "read_only_open": ctx.settings.current.remote.read_only_open,
        },
    )


@read_access
async def panel_png(request: web.Request) -> web.StreamResponse:
    panel = request.config_dict[CONTEXT].services.get("panel")
    if panel is None:
        return error(503, "the front panel is not running")
    return web.Response(body=panel.frame_png(), content_type="image/png")


@read_access
async def led_states(request: web.Request) -> web.Response:
    leds = request.config_dict[CONTEXT].services.get("leds")
    if leds is None:
        return error(503, "the LEDs are not running")
    states = leds.states()
    return web.json_response({name: bool(getattr(states, name)) for name in ("pwr", "cs", "p1")})


def setup_dashboard(app: web.Application, ctx: RuntimeContext) -> None:
    app.router.add_get("/dashboard", dashboard_page)
    app.router.add_get("/api/panel.png", panel_png)
    app.router.add_get("/api/leds", led_states)
