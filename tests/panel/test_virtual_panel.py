"""The virtual front panel: its HTTP endpoints, and headless Chromium operating it like a user."""

# The objects under test change state inside calls, which mypy cannot see; its narrowing of
# `x.screen is ...` across those calls is wrong, so those two checks are off here.
# mypy: disable-error-code="comparison-overlap,unreachable"

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright

from appliance.clock import FakeClock, SystemClock
from appliance.modes import ECO
from appliance.panel.buttons import SETTLE_S
from appliance.panel.leds import LedStates
from appliance.panel.menu_tree import Screen
from appliance.runtime.context import RuntimeContext
from appliance.runtime.panel import PanelController, run_panel
from appliance.web.virtual_panel import PANEL_HEADER, setup_virtual_panel
from drivers.display import open_dummy
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.context import make_context
from tests.panel.fakes import FakeCommissioning, expected_home

HAVE_CHROMIUM = CHROMIUM.exists()


@contextlib.asynccontextmanager
async def serve(panel: PanelController) -> AsyncIterator[str]:
    app = web.Application()
    setup_virtual_panel(app, panel)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


# --- the endpoints -------------------------------------------------------------------------------
async def test_page_frame_and_state(state_dir: Path, clock: FakeClock) -> None:
    panel = PanelController(make_context(state_dir, clock))
    async with serve(panel) as base, ClientSession() as http:
        async with http.get(base + "/panel") as page:
            html = await page.text()
            assert page.status == 200
            assert '<img id="oled"' in html
            assert "http" not in html.replace("http-equiv", "")  # no external assets
        async with http.get(base + "/panel/panel.css") as css:
            assert "image-rendering: pixelated" in await css.text()
        async with http.get(base + "/panel/frame.png") as frame:
            assert frame.content_type == "image/png"
            assert await frame.read() == panel.frame_png()
        async with http.get(base + "/panel/state") as state:
            body = await state.json()
            assert body == {"sequence": panel.frame_sequence, "screen": "home", "leds": None}


async def test_buttons_need_the_panel_header_and_same_origin(
    state_dir: Path, clock: FakeClock
) -> None:
    panel = PanelController(make_context(state_dir, clock))
    async with serve(panel) as base, ClientSession() as http:
        async with http.post(base + "/panel/button/ok/down") as refused:
            assert refused.status == 403
        headers = {PANEL_HEADER: "1", "Origin": "http://evil.example"}
        async with http.post(base + "/panel/button/ok/down", headers=headers) as cross:
            assert cross.status == 403
        async with http.post(base + "/panel/button/up/down", headers={PANEL_HEADER: "1"}) as bad:
            assert bad.status == 404
        async with http.post(base + "/panel/button/ok/sideways", headers={PANEL_HEADER: "1"}) as r:
            assert r.status in {404, 405}
        assert panel.screen is Screen.HOME
        for edge in ("down", "up"):
            async with http.post(
                base + f"/panel/button/right/{edge}", headers={PANEL_HEADER: "1"}
            ) as ok:
                assert ok.status == 200
        clock.advance(SETTLE_S)
        panel.tick()
        assert panel.screen is Screen.MEASUREMENTS


async def test_leds_are_mirrored_when_the_led_part_runs(state_dir: Path, clock: FakeClock) -> None:
    class Leds:
        def states(self) -> LedStates:
            return LedStates(pwr=True, cs=False, p1=True)

    ctx = make_context(state_dir, clock)
    ctx.services["leds"] = Leds()
    panel = PanelController(ctx)
    assert panel.led_states() == {"pwr": True, "cs": False, "p1": True}


# --- in a browser --------------------------------------------------------------------------------
@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()


@contextlib.asynccontextmanager
async def running_panel(ctx: RuntimeContext) -> AsyncIterator[PanelController]:
    task = asyncio.create_task(run_panel(ctx, open_dummy()))
    try:
        for _ in range(100):
            if "panel" in ctx.services:
                break
            await asyncio.sleep(0.01)
        yield ctx.services["panel"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def oled_pixels(page: Page) -> list[int]:
    """The OLED picture as the browser shows it, back to 128x64 one-bit pixels."""
    values: list[int] = await page.evaluate(
        """() => {
            const img = document.getElementById("oled");
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const g = canvas.getContext("2d");
            g.drawImage(img, 0, 0);
            const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
            const out = [];
            for (let i = 0; i < data.length; i += 4) out.push(data[i] > 127 ? 1 : 0);
            return out;
        }"""
    )
    return values


def pixels(image: Image.Image) -> list[int]:
    return [1 if value else 0 for value in image.convert("L").tobytes()]


async def wait_for_picture(page: Page, expected: Image.Image, seconds: float = 5.0) -> None:
    want = pixels(expected)
    for _ in range(round(seconds / 0.1)):
        if await oled_pixels(page) == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the OLED picture in the browser never showed the expected frame")


async def on_screen(page: Page, screen: str, timeout_ms: int = 10_000) -> None:
    """Wait until the page reports `screen` (it polls the panel's state)."""
    await page.wait_for_function(
        f"document.getElementById('screen').textContent === '{screen}'", timeout=timeout_ms
    )


async def open_panel(browser: Browser, base: str) -> Page:
    page = await browser.new_page(viewport={"width": 600, "height": 800})
    page.set_default_timeout(10_000)
    await page.goto(base + "/panel")
    await page.wait_for_function("document.getElementById('oled').naturalWidth === 128")
    return page


@pytest.mark.browser
async def test_user_changes_the_mode_with_the_keyboard_and_sees_it(
    browser: Browser, state_dir: Path
) -> None:
    ctx = make_context(state_dir, SystemClock())
    async with running_panel(ctx) as panel, serve(panel) as base:
        page = await open_panel(browser, base)
        before = expected_home(ctx, ctx.settings.current)
        await wait_for_picture(page, before)
        await page.keyboard.press("Enter")  # CHANGE
        await on_screen(page, "mode_list")
        await page.keyboard.press("ArrowRight")  # ECO+ -> ECO
        await page.keyboard.press("Enter")  # select
        await on_screen(page, "home")
        assert ctx.settings.current.control.charge_mode == ECO
        after = expected_home(ctx, ctx.settings.current)
        assert pixels(after) != pixels(before)
        await wait_for_picture(page, after)


@pytest.mark.browser
async def test_user_holds_ok_with_the_mouse_to_start_commissioning(
    browser: Browser, state_dir: Path
) -> None:
    ctx = make_context(state_dir, SystemClock())
    service = FakeCommissioning()
    ctx.services["commissioning"] = service
    async with running_panel(ctx) as panel, serve(panel) as base:
        page = await open_panel(browser, base)
        for _ in range(4):  # > to the commissioning screen
            await page.click("#btn-right")
        await on_screen(page, "commissioning")
        await page.hover("#btn-ok")
        await page.mouse.down()
        await on_screen(page, "commissioning_active", timeout_ms=8_000)
        assert service.calls == ["start"]  # fired while the button is still down
        await page.mouse.up()
        # A finger takes far longer than the 30 ms contact-bounce window to press again; a
        # release and press closer than that would be filtered as bounce, as on the device.
        await page.wait_for_timeout(200)
        await page.keyboard.press("Enter")  # OK stops commissioning
        await on_screen(page, "home")
        assert service.calls == ["start", "stop"]
        assert panel.screen is Screen.HOME
