"""The virtual front panel for simulation: the live OLED picture, the three buttons, the LEDs.

`setup_virtual_panel(app, panel)` adds `/panel` (the page), its script and style, the frame as
PNG, a small JSON state and the button endpoints. No external assets: the page works offline.
The button endpoints change the appliance (they select modes), so they accept only same-origin
requests that carry the `X-Panel` header, which a cross-site form cannot send.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from aiohttp import web

from appliance.panel.buttons import Button
from appliance.panel.menu_tree import Screen
from appliance.web.security import csrf_exempt

ASSET_DIR = Path(__file__).resolve().parent / "virtual_panel_assets"
PANEL_HEADER = "X-Panel"


class VirtualPanelTarget(Protocol):
    """What the page needs from the panel (appliance.runtime.panel.PanelController)."""

    @property
    def screen(self) -> Screen: ...

    @property
    def frame_sequence(self) -> int: ...

    def frame_png(self) -> bytes: ...

    def led_states(self) -> dict[str, bool] | None: ...

    def button_down(self, button: Button) -> None: ...

    def button_up(self, button: Button) -> None: ...


PANEL_KEY = web.AppKey("virtual_panel", VirtualPanelTarget)

_NO_STORE = {"Cache-Control": "no-store"}


def _state(panel: VirtualPanelTarget) -> dict[str, object]:
    return {
        "sequence": panel.frame_sequence,
        "screen": panel.screen.value,
        "leds": panel.led_states(),
    }


async def _page(request: web.Request) -> web.Response:
    html = (ASSET_DIR / "panel.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html", headers=_NO_STORE)


async def _script(request: web.Request) -> web.Response:
    text = (ASSET_DIR / "panel.js").read_text(encoding="utf-8")
    return web.Response(text=text, content_type="text/javascript")


async def _style(request: web.Request) -> web.Response:
    text = (ASSET_DIR / "panel.css").read_text(encoding="utf-8")
    return web.Response(text=text, content_type="text/css")


async def _frame(request: web.Request) -> web.Response:
    panel = request.app[PANEL_KEY]
    return web.Response(body=panel.frame_png(), content_type="image/png", headers=_NO_STORE)


async def _state_json(request: web.Request) -> web.Response:
    return web.json_response(_state(request.app[PANEL_KEY]), headers=_NO_STORE)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site", "same-origin")
    return site in {"same-origin", "none"} and (
        origin is None or origin == f"{request.scheme}://{request.host}"
    )


@csrf_exempt  # checks its own requests: same origin and the X-Panel header
async def _button(request: web.Request) -> web.Response:
    if request.headers.get(PANEL_HEADER) != "1" or not _same_origin(request):
        return web.json_response({"error": "panel requests only from the panel page"}, status=403)
    try:
        button = Button(request.match_info["button"])
    except ValueError:
        return web.json_response({"error": "unknown button"}, status=404)
    panel = request.app[PANEL_KEY]
    if request.match_info["edge"] == "down":
        panel.button_down(button)
    else:
        panel.button_up(button)
    return web.json_response(_state(panel), headers=_NO_STORE)


def setup_virtual_panel(app: web.Application, panel: VirtualPanelTarget) -> None:
    """Add the virtual front panel's routes under /panel."""
    app[PANEL_KEY] = panel
    app.router.add_get("/panel", _page, name="virtual_panel")
    app.router.add_get("/panel/panel.js", _script)
    app.router.add_get("/panel/panel.css", _style)
    app.router.add_get("/panel/frame.png", _frame)
    app.router.add_get("/panel/state", _state_json)
    app.router.add_post(r"/panel/button/{button}/{edge:down|up}", _button)
