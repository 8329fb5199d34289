"""Runtime part: the web app, the commissioning service and its 5-minute watch.

`install_network_services(ctx)` publishes `ctx.services["network"]` (NetworkManager, or its
fake in simulation) and `ctx.services["commissioning"]`; the runtime may call it early so the
front panel finds the service at start, and `run_web` calls it in any case.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from appliance.commissioning import NetworkCommissioning
from appliance.runtime.context import RuntimeContext
from appliance.web.app import create_app
from drivers.network import FakeNetworkManager, NetworkManager, NmcliNetworkManager, WifiNetwork

log = logging.getLogger(__name__)

DEVICE_BIND = ("0.0.0.0", 80)  # noqa: S104 - the AP station and the home network both reach it
SIMULATION_BIND = ("127.0.0.1", 8080)
POLL_INTERVAL_S = 1.0
SIMULATED_PHONE_JOINS_AFTER_S = 20.0
# ctx.services[WEB_PORT_SERVICE]: the port to serve on instead of the default (0 = any free
# one, e.g. for tests running side by side); run_web publishes the bound URL as WEB_URL_SERVICE.
WEB_PORT_SERVICE = "web_port"
WEB_URL_SERVICE = "web_url"

SIMULATED_NETWORKS = [
    WifiNetwork("HomeNetwork", 82, secured=True),
    WifiNetwork("Neighbours-5G", 41, secured=True),
    WifiNetwork("Guest", 23, secured=False),
]


def _simulated_network(ctx: RuntimeContext) -> FakeNetworkManager:
    """NetworkManager's twin with a simulated neighbourhood and a phone that joins the AP."""
    return FakeNetworkManager(
        scan_results=list(SIMULATED_NETWORKS),
        home_networks={"HomeNetwork": "correct horse", "Guest": ""},
        join_after_s=SIMULATED_PHONE_JOINS_AFTER_S,
        now=ctx.clock.monotonic,
    )


def install_network_services(ctx: RuntimeContext) -> NetworkCommissioning:
    network: NetworkManager | None = ctx.services.get("network")
    if network is None:
        network = _simulated_network(ctx) if ctx.simulate else NmcliNetworkManager()
        ctx.services["network"] = network
    service = ctx.services.get("commissioning")
    if not isinstance(service, NetworkCommissioning):
        service = NetworkCommissioning(
            network, ctx.identity, ctx.clock, lambda: ctx.settings.current
        )
        ctx.services["commissioning"] = service
    return service


async def watch_commissioning(service: NetworkCommissioning) -> None:
    """Once a second: see whether a station is connected; the service ends a stale session."""
    while True:
        await service.poll()
        await asyncio.sleep(POLL_INTERVAL_S)


async def run_web(ctx: RuntimeContext, *, host: str | None = None, port: int | None = None) -> None:
    service = install_network_services(ctx)
    default_host, default_port = SIMULATION_BIND if ctx.simulate else DEVICE_BIND
    if port is None:
        port = ctx.services.get(WEB_PORT_SERVICE, default_port)
    app = create_app(ctx)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or default_host, port)
    try:
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        ctx.services[WEB_URL_SERVICE] = f"http://{bound_host}:{bound_port}/"
        log.info("web pages on %s", ctx.services[WEB_URL_SERVICE])
        await watch_commissioning(service)
    finally:
        ctx.services.pop(WEB_URL_SERVICE, None)
        if service.active:
            await service.stop("appliance stopping")
        await runner.cleanup()
