"""`scc panel`: the virtual front panel in a terminal, for a running `scc run --simulate`.

It talks to the same endpoints as the browser page (`/panel/frame.png`, `/panel/state`,
`/panel/button/...`), draws the OLED with Unicode half blocks (two pixel rows per text line)
and sends key presses as button edges. Terminals report no key releases, so long presses are
keys of their own: `h` holds OK for 5 s, `H` for 10 s (the hold bar runs on the OLED meanwhile).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import termios
import tty
from typing import Any

from aiohttp import ClientError, ClientSession
from PIL import Image

from appliance.panel.buttons import Button

DEFAULT_URL = "http://127.0.0.1:8080"
HOLD_MARGIN_S = 0.5  # past the threshold, so the action surely fires before the release
KEYS: dict[bytes, tuple[Button, float]] = {
    b"\x1b[D": (Button.LEFT, 0.0),
    b"\x1b[C": (Button.RIGHT, 0.0),
    b"\r": (Button.OK, 0.0),
    b"\n": (Button.OK, 0.0),
    b"h": (Button.OK, 5.0 + HOLD_MARGIN_S),
    b"H": (Button.OK, 10.0 + HOLD_MARGIN_S),
}
HELP = "<- ->: move   Enter: OK   h: hold OK 5 s   H: hold OK 10 s   q: quit"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "panel", help="operate the front panel of a simulated appliance from the terminal"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"web address (default {DEFAULT_URL})")
    parser.set_defaults(handler=run)


def frame_to_text(image: Image.Image) -> str:
    """A 1-bit frame as half-block characters: each text line carries two pixel rows."""
    frame = image.convert("1")
    width, height = frame.size
    pixels = frame.load()
    assert pixels is not None
    lines = []
    for y in range(0, height, 2):
        chars = []
        for x in range(width):
            top = bool(pixels[x, y])
            bottom = y + 1 < height and bool(pixels[x, y + 1])
            chars.append(" ▀▄█"[top + 2 * bottom])
        lines.append("".join(chars))
    return "\n".join(lines)


class PanelClient:
    """The HTTP side of the terminal panel."""

    def __init__(self, session: ClientSession, url: str) -> None:
        self._session = session
        self._url = url.rstrip("/")

    async def frame(self) -> Image.Image:
        async with self._session.get(self._url + "/panel/frame.png") as response:
            response.raise_for_status()
            return Image.open(io.BytesIO(await response.read()))

    async def state(self) -> dict[str, Any]:
        async with self._session.get(self._url + "/panel/state") as response:
            response.raise_for_status()
            body: dict[str, Any] = await response.json()
            return body

    async def edge(self, button: Button, edge: str) -> None:
        url = f"{self._url}/panel/button/{button.value}/{edge}"
        async with self._session.post(url, headers={"X-Panel": "1"}) as response:
            response.raise_for_status()

    async def press(self, button: Button, hold_s: float = 0.0) -> None:
        await self.edge(button, "down")
        if hold_s > 0:
            await asyncio.sleep(hold_s)  # the user's hold, in real time
        await self.edge(button, "up")


async def _terminal(url: str) -> int:
    loop = asyncio.get_running_loop()
    keys: asyncio.Queue[bytes] = asyncio.Queue()
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: keys.put_nowait(os.read(stdin, 8)))
    pending: set[asyncio.Task[None]] = set()
    async with ClientSession() as session:
        client = PanelClient(session, url)
        shown = -1
        try:
            while True:
                state = await client.state()
                if state["sequence"] != shown:
                    shown = state["sequence"]
                    text = frame_to_text(await client.frame())
                    sys.stdout.write(f"\x1b[H\x1b[2J{text}\r\n\r\n{state['screen']}\r\n{HELP}\r\n")
                    sys.stdout.flush()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        key = await keys.get()
                        if key in (b"q", b"\x03"):
                            return 0
                        if key in KEYS:
                            button, hold_s = KEYS[key]
                            task = asyncio.create_task(client.press(button, hold_s))
                            pending.add(task)
                            task.add_done_callback(pending.discard)
        finally:
            loop.remove_reader(stdin)
            for task in pending:
                task.cancel()


def run(args: argparse.Namespace) -> int:
    if not sys.stdin.isatty():
        print("scc panel needs a terminal", file=sys.stderr)
        return 2
    saved = termios.tcgetattr(sys.stdin)
    tty.setraw(sys.stdin)
    try:
        return asyncio.run(_terminal(args.url))
    except ClientError as exc:
        sys.stdout.write(f"\r\ncannot reach the panel at {args.url}: {exc}\r\n")
        return 1
    finally:
        termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
