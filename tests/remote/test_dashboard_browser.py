"""The dashboard in headless Chromium against the whole simulated appliance, in this process.

The appliance runs as `scc run --simulate` does (build_context + run_appliance, every part, real
time), with its web pages and Modbus server on free ports. The test logs in with a password set
beforehand, changes the mode on the dashboard and then checks the two outputs a home owner and
a charger see: the OLED mirror shows the frame the panel renders for the new mode, and an
independent Modbus client (uModbus) reads the controller's new currents from the EMU registers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Page, async_playwright
from umodbus.client import tcp as umodbus_tcp

from appliance.grid import ReportedGrid
from appliance.modes import ChargeMode
from appliance.remote.auth import hash_password
from appliance.runtime.app import RunOptions, build_context, run_appliance
from appliance.runtime.context import RuntimeContext
from appliance.runtime.web import WEB_URL_SERVICE
from appliance.settings import Settings, SettingsStore
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "scenarios" / "household.toml"
PASSWORD = "kitchen window 7"
EMU_CURRENT_L1 = 4591  # EMU Professional: three UINT32 currents in mA, high word first
TIMEOUT_S = 30.0  # generous: a loaded 2-core machine runs the appliance and Chromium
# OLED rows 0..36 hold the title and the mode; below is the live grid line, new every second.
MODE_ROWS = slice(0, 37)

T = TypeVar("T")

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def _until(what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
    """Poll `probe` until it returns something (no fixed sleeps: a condition with a deadline)."""
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            value = await probe()
            if value is not None and value is not False:
                return value
            await asyncio.sleep(0.1)
    raise AssertionError(what)  # pragma: no cover - the timeout raises first


@dataclass
class Running:
    ctx: RuntimeContext
    url: str
    modbus_port: int


@pytest.fixture
async def appliance(tmp_path: Path) -> AsyncIterator[Running]:
    state = tmp_path / "state"
    state.mkdir()
    modbus_port = _free_port()
    data = Settings().model_dump()
    data["meter"]["modbus_port"] = modbus_port
    data["remote"] |= {"password_hash": hash_password(PASSWORD), "read_only_open": True}
    SettingsStore(state / "settings.json").save(Settings.model_validate(data))

    ctx = build_context(RunOptions(state, simulate=True, scenario=SCENARIO, web_port=0))
    task = asyncio.create_task(run_appliance(ctx))

    async def ready() -> str | None:
        modbus = ctx.services.get("modbus")
        listening = modbus is not None and modbus.tcp_listening
        url: str | None = ctx.services.get(WEB_URL_SERVICE)
        return url if listening and ctx.hub.reported.latest is not None else None

    try:
        url = await _until("the appliance did not come up", ready)
        yield Running(ctx, url, modbus_port)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _read_emu_currents(port: int) -> tuple[float, float, float]:
    """The three reported currents in A, read by uModbus (FC03) from the EMU block."""
    message = umodbus_tcp.read_holding_registers(
        slave_id=1, starting_address=EMU_CURRENT_L1, quantity=6
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        words = umodbus_tcp.send_message(message, sock)
    raw = struct.unpack(">3I", struct.pack(">6H", *words))
    return raw[0] / 1000, raw[1] / 1000, raw[2] / 1000


def _currents(reported: ReportedGrid) -> tuple[float, ...]:
    return tuple(round(p.current_a, 3) for p in reported.phases)


async def _modbus_matches_controller(running: Running) -> tuple[float, float, float]:
    """Modbus values equal the controller's output (the newest before or after the read)."""

    async def probe() -> tuple[float, float, float] | None:
        before = running.ctx.hub.reported.latest
        values = await asyncio.to_thread(_read_emu_currents, running.modbus_port)
        after = running.ctx.hub.reported.latest
        candidates = [_currents(r) for r in (before, after) if r is not None]
        close = any(np.allclose(values, c, atol=0.0015) for c in candidates)
        return values if close else None

    return await _until("Modbus never showed the controller's currents", probe)


async def _mirror(page: Page) -> np.ndarray:
    src: str = await page.get_attribute("#oled", "src") or ""
    assert src.startswith("data:image/png;base64,"), src[:40]
    image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    return np.asarray(image.convert("1"), dtype=bool)


def _panel_frame(ctx: RuntimeContext) -> np.ndarray:
    return np.asarray(ctx.services["panel"].frame().convert("1"), dtype=bool)


async def _chart_points(page: Page) -> int:
    count: int = await page.evaluate("charts.current.data[0].length")
    return count


async def test_dashboard_charts_login_mode_change_oled_and_modbus(appliance: Running) -> None:
    ctx = appliance.ctx
    assert ctx.settings.current.control.charge_mode == ChargeMode.parse("eco+")
    modbus_before = await _modbus_matches_controller(appliance)
    frame_before = _panel_frame(ctx)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(TIMEOUT_S * 1000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(appliance.url + "dashboard")
            await page.wait_for_selector("#mode-label:has-text('ECO+')")

            # Charts: new points arrive while we watch.
            first = await _until("no chart points", lambda: _points_if(page, 1))
            await _until("the charts stopped updating", lambda: _points_if(page, first + 3))
            assert (await page.text_content("#grid-a-1") or "").endswith(" A")

            # The OLED mirror shows the panel's own frame (the mode part of it).
            mirror = await _until("no OLED mirror", lambda: _mirror_if_loaded(page))
            assert (mirror[MODE_ROWS] == frame_before[MODE_ROWS]).all()

            # Log in and change the mode.
            assert await page.is_hidden("#mode-form")
            await page.fill("#password", "not the password")
            await page.click("#login-form button")
            await page.wait_for_selector("#mode-message:has-text('wrong password')")
            assert await page.is_hidden("#mode-form")
            await page.fill("#password", PASSWORD)
            await page.click("#login-form button")
            await page.wait_for_selector("#mode-form", state="visible")
            await page.select_option("#mode-select", "eco")
            await page.click("#mode-apply")
            await page.wait_for_selector("#mode-message:has-text('Mode changed to ECO')")
            await page.wait_for_selector("#mode-label:has-text('ECO (PV + 6 A)')")

            # Same effect as the buttons: in force and persisted.
            eco = ChargeMode.parse("eco")
            assert ctx.settings.current.control.charge_mode == eco
            assert SettingsStore(ctx.state_dir / "settings.json").load().control.mode == "eco"

            # The OLED mirror follows: its mode rows become what the panel renders for ECO.
            async def mirror_shows_new_mode() -> bool:
                shown, expected = await _mirror(page), _panel_frame(ctx)
                changed = not (shown[MODE_ROWS] == frame_before[MODE_ROWS]).all()
                return changed and bool((shown[MODE_ROWS] == expected[MODE_ROWS]).all())

            await _until("the OLED mirror kept the old mode", mirror_shows_new_mode)
            assert errors == []
        finally:
            await browser.close()

    # The charger's view: the controller now runs ECO, and the Modbus currents are its output.
    async def controller_in_eco() -> bool:
        status = ctx.services["control"].status()
        return status.mode == "eco" and status.target_a is not None

    await _until("the controller did not switch to ECO", controller_in_eco)
    target = ctx.services["control"].status().target_a
    assert target >= ctx.settings.current.grid.min_charge_current_a  # ECO never below 6 A
    modbus_after = await _modbus_matches_controller(appliance)
    # ECO+ without surplus offers nothing; ECO offers the minimum, so the reported currents
    # (the headroom the charger subtracts from its limit) drop.
    assert sum(modbus_after) < sum(modbus_before), (modbus_before, modbus_after, target)


async def _points_if(page: Page, at_least: int) -> int | None:
    count = await _chart_points(page)
    return count if count >= at_least else None


async def _mirror_if_loaded(page: Page) -> np.ndarray | None:
    src = await page.get_attribute("#oled", "src")
    return await _mirror(page) if src and src.startswith("data:") else None
