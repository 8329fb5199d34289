"""`scc panel`: the terminal client of the virtual front panel."""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientSession
from PIL import Image

from appliance.cli.panel import PanelClient, frame_to_text
from appliance.clock import FakeClock
from appliance.panel.buttons import SETTLE_S, Button
from appliance.panel.menu_tree import Screen
from appliance.runtime.panel import PanelController
from tests.context import make_context
from tests.panel.test_virtual_panel import serve


def test_half_blocks_carry_two_pixel_rows() -> None:
    image = Image.new("1", (4, 2))
    image.putpixel((1, 0), 1)  # top only
    image.putpixel((2, 1), 1)  # bottom only
    image.putpixel((3, 0), 1)
    image.putpixel((3, 1), 1)  # both
    assert frame_to_text(image) == " ▀▄█"


def test_a_full_frame_is_32_lines_of_128() -> None:
    lines = frame_to_text(Image.new("1", (128, 64), 1)).split("\n")
    assert len(lines) == 32
    assert {len(line) for line in lines} == {128}
    assert set("".join(lines)) == {"█"}


async def test_client_shows_the_frame_and_presses_buttons(
    state_dir: Path, clock: FakeClock
) -> None:
    panel = PanelController(make_context(state_dir, clock))
    async with serve(panel) as base, ClientSession() as session:
        client = PanelClient(session, base)
        assert (await client.frame()).tobytes() == panel.frame().tobytes()
        await client.press(Button.RIGHT)
        clock.advance(SETTLE_S)
        panel.tick()
        assert (await client.state())["screen"] == Screen.MEASUREMENTS.value
