"""appliance.runtime.web: services published, pages served, the AP taken down on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import aiohttp

from appliance.clock import FakeClock
from appliance.commissioning import NetworkCommissioning
from appliance.runtime.web import (
    SIMULATED_PHONE_JOINS_AFTER_S,
    install_network_services,
    run_web,
)
from drivers.network import AP_CONNECTION, FakeNetworkManager
from tests.commissioning.harness import build_appliance


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_simulation_publishes_the_fake_network_and_the_service(
    state_dir: Path, clock: FakeClock
) -> None:
    ctx = build_appliance(state_dir, clock).ctx
    ctx.services.clear()
    service = install_network_services(ctx)
    assert isinstance(ctx.services["network"], FakeNetworkManager)
    assert ctx.services["commissioning"] is service
    assert install_network_services(ctx) is service  # idempotent: the runtime may call it early


async def test_simulated_phone_joins_and_the_url_appears(state_dir: Path, clock: FakeClock) -> None:
    ctx = build_appliance(state_dir, clock).ctx
    ctx.services.clear()
    service = install_network_services(ctx)
    await service.start()
    assert service.status().code.isdigit()
    assert len(service.status().code) == 8
    clock.advance(SIMULATED_PHONE_JOINS_AFTER_S - 1)
    await service.poll()
    assert service.status().url == ""
    clock.advance(1)
    await service.poll()
    assert service.status().url == "http://192.168.11.1/"


async def test_run_web_serves_and_takes_the_ap_down_when_cancelled(
    state_dir: Path, clock: FakeClock
) -> None:
    appliance = build_appliance(state_dir, clock)
    port = _free_port()
    task = asyncio.create_task(run_web(appliance.ctx, host="127.0.0.1", port=port))
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("web pages did not come up")
        service = appliance.ctx.services["commissioning"]
        assert isinstance(service, NetworkCommissioning)
        await service.start()
        assert AP_CONNECTION in appliance.network.active
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not service.active
    assert AP_CONNECTION not in appliance.network.connections
