"""The commissioning pages in headless Chromium at phone size, as an installer uses them.

Each test drives Debian's Chromium through playwright against the real app on an ephemeral
localhost port (simulation mode: localhost is let in while commissioning runs). Screenshots of
every page are taken at phone size; with SCC_UPDATE_SCREENSHOTS=1 they replace the ones in
docs/screenshots/ (otherwise they go to a temporary directory, so a test run leaves the tree
as it was).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from PIL import Image
from playwright.async_api import Browser, Page, ViewportSize, async_playwright
from umodbus.client import tcp as umodbus_tcp

from appliance.runtime.modbus import run_modbus
from appliance.web.app import create_app
from appliance.web.keys import BACKGROUND_TASKS
from drivers.network import HOME_WIFI_CONNECTION
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.commissioning.harness import HOME_PASSWORD, HOME_SSID, Appliance

# One Chromium for the module (starting it is most of the cost); a fresh context per test.
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PHONE: ViewportSize = {"width": 390, "height": 844}
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()


@pytest_asyncio.fixture(loop_scope="module")
async def server(appliance: Appliance) -> AsyncIterator[TestServer]:
    test_server = TestServer(create_app(appliance.ctx), host="127.0.0.1", port=0)
    await test_server.start_server()
    yield test_server
    await test_server.close()


@pytest_asyncio.fixture(loop_scope="module")
async def phone(browser: Browser, server: TestServer, screenshot_dir: Path) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    yield page
    await context.close()


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("SCC_UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


Shoot = Callable[[Page, str], Awaitable[None]]


@pytest.fixture
def shoot(screenshot_dir: Path) -> Shoot:
    async def take(page: Page, name: str) -> None:
        path = screenshot_dir / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000  # a real picture, not a blank page
        with Image.open(path) as picture:  # 256 colours keep the docs small and text crisp
            palette = picture.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
        palette.save(path, optimize=True)

    return take


async def field_error(page: Page, name: str) -> str:
    return (await page.locator(f"#{name}-error").inner_text()).strip()


async def test_closed_page_outside_commissioning(
    phone: Page, server: TestServer, shoot: Shoot
) -> None:
    response = await phone.goto(url(server, "/commissioning/grid"))
    assert response is not None
    assert response.status == 403
    assert await phone.locator("h1").inner_text() == "Commissioning is not active"
    await shoot(phone, "commissioning-closed")


async def test_grid_page_as_an_installer(
    phone: Page, server: TestServer, appliance: Appliance, shoot: Shoot
) -> None:
    await appliance.commissioning.start()
    await phone.goto(url(server, "/"))
    assert phone.url.endswith("/commissioning/grid")
    assert await phone.locator("h1").inner_text() == "Grid settings"
    await shoot(phone, "grid-settings")

    # A first attempt with mistakes: min above max and a startup time out of range.
    await phone.fill("#max_charge_current_a", "16")
    await phone.fill("#min_charge_current_a", "20")
    await phone.fill("#charger_startup_time_s", "900")
    await phone.click("button[type=submit]")
    assert "Min charge current must not exceed max" in await field_error(
        phone, "min_charge_current_a"
    )
    assert await field_error(phone, "charger_startup_time_s") == "Must be at most 600 s."
    assert await phone.locator("#max_charge_current_a").input_value() == "16"
    await shoot(phone, "grid-settings-errors")
    assert not appliance.store.path.exists()

    # Corrected: 1 phase, 16 A, P1 metering.
    await phone.click("label:has(input[name=phases][value='1'])")
    await phone.fill("#min_charge_current_a", "6")
    await phone.fill("#charger_startup_time_s", "120")
    await phone.fill("#current_detection_time_s", "45")
    await phone.select_option("#metering_device", "p1")
    await phone.fill("#ct_ratio", "2500")
    await phone.click("button[type=submit]")
    await phone.wait_for_selector(".banner.ok")
    grid = appliance.ctx.settings.current.grid
    assert (grid.phases, grid.max_charge_current_a, grid.min_charge_current_a) == (1, 16, 6)
    assert (grid.charger_startup_time_s, grid.current_detection_time_s) == (120, 45)
    assert (grid.metering_device, grid.ct_ratio) == ("p1", 2500)
    assert appliance.store.load().grid == grid  # persisted: survives a restart
    assert await phone.locator("input[name=phases][value='1']").is_checked()


async def test_meter_page_as_an_installer(
    phone: Page, server: TestServer, appliance: Appliance, shoot: Shoot
) -> None:
    await appliance.commissioning.start()
    await phone.goto(url(server, "/commissioning/meter"))
    options = await phone.locator("#emulate option").all_inner_texts()
    assert options[0] == "EMU Professional Modbus TCP"
    await shoot(phone, "meter-settings")

    await phone.fill("#ip_address", "192.168.1.300")
    await phone.fill("#modbus_port", "70000")
    await phone.click("button[type=submit]")
    assert await field_error(phone, "ip_address") == "Enter an IPv4 address such as 192.168.1.50."
    assert await field_error(phone, "modbus_port") == "Must be at most 65535."
    await shoot(phone, "meter-settings-errors")
    assert not appliance.store.path.exists()

    await phone.fill("#ip_address", "192.168.1.60")
    await phone.fill("#prefix_length", "24")
    await phone.fill("#gateway", "192.168.1.1")
    await phone.fill("#modbus_port", "1502")
    await phone.click("button[type=submit]")
    await phone.wait_for_selector(".banner.ok")
    assert "Ethernet port set to 192.168.1.60/24" in await phone.locator(".banner.ok").inner_text()
    meter = appliance.store.load().meter
    assert (str(meter.ip_address), meter.modbus_port) == ("192.168.1.60", 1502)
    assert appliance.network.connections["scc-ethernet"]["ipv4.gateway"] == "192.168.1.1"


async def test_wifi_page_as_an_installer(
    phone: Page, server: TestServer, appliance: Appliance, shoot: Shoot
) -> None:
    await appliance.commissioning.start()
    appliance.network.stations = 1
    await appliance.commissioning.poll()
    await phone.goto(url(server, "/commissioning/wifi"))
    await shoot(phone, "wifi-settings")

    # Pick the network from the list, then mistype the password.
    await phone.click(f".networks a:has-text('{HOME_SSID}')")
    assert await phone.locator("#ssid").input_value() == HOME_SSID
    await phone.fill("#password", "short")
    await phone.click("button[type=submit]")
    assert await field_error(phone, "password") == "A WPA2 password has 8 to 63 characters."
    assert not appliance.store.path.exists()

    await phone.fill("#password", HOME_PASSWORD)
    await phone.click("button[type=submit]")
    for task in list(server.app[BACKGROUND_TASKS].tasks):
        await task
    await appliance.commissioning.poll()  # the phone is back on the access point
    await phone.goto(url(server, "/commissioning/wifi"))
    result = await phone.locator("#wifi-result").inner_text()
    assert f"Connected to “{HOME_SSID}”" in result
    await shoot(phone, "wifi-settings-connected")
    assert appliance.store.load().wifi.ssid == HOME_SSID
    home = appliance.network.connections[HOME_WIFI_CONNECTION]
    assert home["802-11-wireless-security.psk"] == HOME_PASSWORD


async def test_pages_fit_a_phone_screen(
    phone: Page, server: TestServer, appliance: Appliance
) -> None:
    await appliance.commissioning.start()
    for path in ("grid", "meter", "wifi"):
        await phone.goto(url(server, f"/commissioning/{path}"))
        overflow = await phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0, f"{path} scrolls sideways on a phone"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _read_emu_block(port: int) -> list[int]:
    """The whole EMU Professional window, read with uModbus (not the server's library)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        request = umodbus_tcp.read_holding_registers(slave_id=1, starting_address=4521, quantity=78)
        values: list[int] = umodbus_tcp.send_message(request, connection)
    return values


async def _save_free_modbus_port(phone: Page, avoid: int) -> int:
    """Type a free port into the Meter page and save it. Other test runs on this machine may
    take a port between our probe and the page's own check; the page then says so and we
    pick another, as an installer would."""
    for _ in range(5):
        port = _free_port()
        if port == avoid:
            continue
        await phone.fill("#modbus_port", str(port))
        await phone.click("button[type=submit]")
        outcome = await phone.wait_for_selector(".banner")
        assert outcome is not None
        if "ok" in (await outcome.get_attribute("class") or ""):
            return port
    raise AssertionError("no free port was accepted")


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(400):  # the server starts in a few ms; 20 s allows for a loaded machine
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_new_modbus_port_moves_the_running_server(
    phone: Page, server: TestServer, appliance: Appliance
) -> None:
    old_port = _free_port()
    ctx = appliance.ctx
    ctx.settings.update(
        ctx.settings.current.with_section(
            "meter", ctx.settings.current.meter.model_copy(update={"modbus_port": old_port})
        )
    )
    modbus = asyncio.create_task(run_modbus(ctx))
    try:
        await _until(lambda: "modbus" in ctx.services, "the Modbus part")
        status = ctx.services["modbus"]
        await _until(lambda: status.tcp_listening and status.tcp_port == old_port, "old port")
        assert len(await asyncio.to_thread(_read_emu_block, old_port)) == 78

        await appliance.commissioning.start()
        await phone.goto(url(server, "/commissioning/meter"))
        new_port = await _save_free_modbus_port(phone, avoid=old_port)

        await _until(lambda: status.tcp_listening and status.tcp_port == new_port, "new port")
        assert len(await asyncio.to_thread(_read_emu_block, new_port)) == 78
        with pytest.raises(ConnectionRefusedError):
            await asyncio.to_thread(_read_emu_block, old_port)
    finally:
        modbus.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await modbus
