"""Fixtures: the web app on the fake appliance, served on an ephemeral localhost port."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from appliance.clock import FakeClock
from appliance.web.app import create_app
from tests.commissioning.harness import Appliance, build_appliance

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf_from(html: str) -> str:
    match = _TOKEN.search(html)
    assert match is not None, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def appliance(state_dir: Path, clock: FakeClock) -> Appliance:
    return build_appliance(state_dir, clock)


@pytest.fixture
async def client(appliance: Appliance) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    server = TestServer(create_app(appliance.ctx), host="127.0.0.1", port=0)
    async with TestClient(server) as test_client:
        yield test_client
