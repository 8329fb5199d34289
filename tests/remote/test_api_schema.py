"""API tests generated from our OpenAPI description (schemathesis): no server errors, and every
response matches the documented status codes and schemas, for any input the schema allows."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

from appliance.clock import FakeClock
from appliance.control import Controller
from appliance.modbus.log import RequestLog
from appliance.runtime.context import Hub, RuntimeContext
from appliance.runtime.control import ControlService
from appliance.runtime.leds import LedStatus
from appliance.runtime.panel import PanelController
from appliance.web.app import create_app
from appliance.web.openapi import openapi_document
from tests.context import make_context
from tests.remote.test_api import publish, set_password

schema = schemathesis.openapi.from_dict(openapi_document())


class ServerThread:
    """The web app on its own event loop in a thread, so that synchronous clients can call it."""

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.ctx.hub = Hub()  # topics bind to the loop that publishes
        publish(self.ctx, 8.0, -3.0, 0.2)
        # The real parts' service objects, so that every endpoint has something to serve.
        self.ctx.services["control"] = ControlService(Controller())
        self.ctx.services["modbus_log"] = RequestLog(self.ctx.clock)
        self.ctx.services["leds"] = LedStatus()
        self.ctx.services["panel"] = PanelController(self.ctx)
        app = create_app(self.ctx)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServerThread:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    state_dir: Path = tmp_path_factory.mktemp("api-state")
    ctx = make_context(state_dir, FakeClock())
    set_password(ctx)
    with ServerThread(ctx) as running:
        yield running


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_description(
    case: schemathesis.Case[Any], server: ServerThread
) -> None:
    case.call_and_validate(base_url=server.url)
