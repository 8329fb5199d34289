"""The appliance's web application: one aiohttp app, assembled from setup functions.

Each feature adds its routes with a `setup(app, ctx)` function; `create_app` runs the default
list (security first, then pages). Other parts add their own (the dashboard), or are mounted
here when their object exists (the virtual front panel in simulation).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from appliance.runtime.context import RuntimeContext
from appliance.web.api import setup_api
from appliance.web.commissioning_pages import setup_commissioning_pages, setup_home_page
from appliance.web.dashboard import setup_dashboard
from appliance.web.keys import CONTEXT
from appliance.web.security import MAX_BODY_BYTES, setup_security

log = logging.getLogger(__name__)

Setup = Callable[[web.Application, RuntimeContext], None]

_PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = _PACKAGE_DIR / "static"


def setup_templates(app: web.Application, ctx: RuntimeContext) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(_PACKAGE_DIR / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    env.globals["device_ssid"] = ctx.identity.ssid


def setup_static(app: web.Application, ctx: RuntimeContext) -> None:
    resource = app.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
    env = aiohttp_jinja2.get_env(app)
    env.globals["stylesheet_url"] = str(resource.url_for(filename="style.css"))


def setup_security_layer(app: web.Application, ctx: RuntimeContext) -> None:
    setup_security(app)


def setup_virtual_panel_if_simulated(app: web.Application, ctx: RuntimeContext) -> None:
    """The browser front panel exists only in simulation, when the panel part published itself."""
    panel = ctx.services.get("panel")
    if not ctx.simulate or panel is None:
        return
    module = importlib.import_module("appliance.web.virtual_panel")
    module.setup_virtual_panel(app, panel)


DEFAULT_SETUPS: tuple[Setup, ...] = (
    setup_security_layer,
    setup_templates,
    setup_static,
    setup_commissioning_pages,
    setup_home_page,
    # After the security layer: its middleware adds the headers and lets only handlers marked
    # csrf_exempt (the token-authenticated API) skip the form check.
    setup_api,
    setup_dashboard,
    setup_virtual_panel_if_simulated,
)


def create_app(
    ctx: RuntimeContext,
    setups: Sequence[Setup] = DEFAULT_SETUPS,
    extra_setups: Sequence[Setup] = (),
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[CONTEXT] = ctx
    for setup in (*setups, *extra_setups):
        setup(app, ctx)
    return app
