"""Drawing of every front-panel screen for the 128x64 1-bit OLED (PIL, pure).

Fonts are DejaVu (shipped in `fonts/` with their licence), hinted TrueType rendered without
anti-aliasing, which stays crisp on a 1-bit panel. All text goes through `Painter`, which refuses
text that would leave the screen: a layout that does not fit fails loudly in the tests instead of
being cut off on a device.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from appliance.grid import Direction, Fault, PhaseReading
from appliance.panel.content import PanelData, Row
from appliance.panel.menu import HoldProgress, MenuView
from appliance.panel.menu_tree import MENU_TREE, ArrowAction, Screen
from appliance.services import CommissioningStatus, UpdateProgress, UpdateState

WIDTH, HEIGHT = 128, 64
ON, OFF = 1, 0
FONT_DIR = Path(__file__).resolve().parent / "fonts"

HEADER_BASELINE = 10  # title text baseline; the rule under it is at y = 12
BODY_TOP = 14
FOOTER_TOP = 54  # soft keys or the hold bar: y = 54..63
VALUE_INDENT = 6  # a value that moved under its label


class LayoutError(ValueError):
    """Text would not fit the screen: a design error caught by the tests, never shown cut off."""


@functools.cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size)


def small() -> ImageFont.FreeTypeFont:
    return font("DejaVuSans.ttf", 10)


def narrow() -> ImageFont.FreeTypeFont:
    return font("DejaVuSansCondensed.ttf", 10)


def tiny() -> ImageFont.FreeTypeFont:
    """Only where a fixed-length identifier must fit beside the QR code."""
    return font("DejaVuSansCondensed.ttf", 9)


def bold() -> ImageFont.FreeTypeFont:
    # 11 px: at 12 px the hinting merges the dot of the "i" into its stem.
    return font("DejaVuSansCondensed-Bold.ttf", 11)


def value_face() -> ImageFont.FreeTypeFont:
    return font("DejaVuSansCondensed-Bold.ttf", 13)


def big() -> ImageFont.FreeTypeFont:
    return font("DejaVuSansCondensed-Bold.ttf", 14)


class Painter:
    """ImageDraw with text placed by baseline and checked against the screen edges."""

    def __init__(self, draw: ImageDraw.ImageDraw) -> None:
        self.draw = draw

    def text_width(self, text: str, face: ImageFont.FreeTypeFont) -> int:
        return int(face.getlength(text) + 0.999)

    def text(
        self,
        x: int,
        baseline: int,
        text: str,
        face: ImageFont.FreeTypeFont,
        *,
        align: str = "left",
        fill: int = ON,
        right_limit: int = WIDTH,
    ) -> None:
        anchor = {"left": "ls", "right": "rs", "center": "ms"}[align]
        left, top, right, bottom = self.draw.textbbox((x, baseline), text, font=face, anchor=anchor)
        if left < 0 or top < 0 or right > right_limit or bottom > HEIGHT:
            raise LayoutError(f"text {text!r} does not fit: box {(left, top, right, bottom)}")
        self.draw.text((x, baseline), text, font=face, fill=fill, anchor=anchor)

    def fit(self, text: str, width: int, *faces: ImageFont.FreeTypeFont) -> ImageFont.FreeTypeFont:
        """The first face in which `text` fits `width` (the last one if none does)."""
        for face in faces:
            if self.text_width(text, face) <= width:
                return face
        return faces[-1]

    def wrap(self, text: str, width: int, face: ImageFont.FreeTypeFont) -> list[str]:
        """Word-wrap to `width` pixels; a word longer than the line is split between characters."""
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if self.text_width(candidate, face) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                line = word
                while self.text_width(line, face) > width:
                    cut = len(line) - 1
                    while cut > 1 and self.text_width(line[:cut], face) > width:
                        cut -= 1
                    lines.append(line[:cut])
                    line = line[cut:]
            lines.append(line)
        return lines


# --- shared elements ---------------------------------------------------------------------------
def _header(p: Painter, title: str, right: str = "") -> None:
    p.text(0, HEADER_BASELINE, title, bold())
    if right:
        p.text(WIDTH - 1, HEADER_BASELINE, right, small(), align="right")
    p.draw.line((0, 12, WIDTH - 1, 12), fill=ON)


def _footer(p: Painter, view: MenuView, ok_label: str | None = None) -> None:
    """Soft keys above the three buttons, or the hold bar while OK is held."""
    if view.hold is not None:
        _hold_bar(p, view.hold)
        return
    spec = MENU_TREE[view.screen]
    label = spec.ok_label if ok_label is None else ok_label
    if spec.arrows is not ArrowAction.NONE:
        _arrow(p, left=True)
        _arrow(p, left=False)
    if label:
        width = p.text_width(label, small()) + 8
        x0 = (WIDTH - width) // 2
        p.draw.rounded_rectangle((x0, FOOTER_TOP, x0 + width, HEIGHT - 1), radius=2, outline=ON)
        p.text(WIDTH // 2, HEIGHT - 2, label, small(), align="center")


def _arrow(p: Painter, *, left: bool) -> None:
    mid = FOOTER_TOP + 5
    if left:
        p.draw.polygon([(1, mid), (5, mid - 4), (5, mid + 4)], fill=ON)
    else:
        p.draw.polygon([(WIDTH - 2, mid), (WIDTH - 6, mid - 4), (WIDTH - 6, mid + 4)], fill=ON)


def _hold_bar(p: Painter, hold: HoldProgress) -> None:
    left_s = max(0.0, hold.threshold_s - hold.held_s)
    label = f"{left_s:.0f} s" if left_s >= 1 else "now"
    bar_right = 98
    p.draw.rectangle((0, FOOTER_TOP + 1, bar_right, HEIGHT - 1), outline=ON)
    filled = round((bar_right - 4) * hold.fraction)
    if filled > 0:
        p.draw.rectangle((2, FOOTER_TOP + 3, 2 + filled, HEIGHT - 3), fill=ON)
    p.text(WIDTH - 1, HEIGHT - 1, label, small(), align="right")


def _progress_bar(p: Painter, top: int, fraction: float) -> None:
    p.draw.rectangle((0, top, WIDTH - 1, top + 7), outline=ON)
    filled = round((WIDTH - 5) * max(0.0, min(1.0, fraction)))
    if filled > 0:
        p.draw.rectangle((2, top + 2, 2 + filled, top + 5), fill=ON)


def _paragraph(
    p: Painter,
    text: str,
    top: int = BODY_TOP,
    bottom: int = FOOTER_TOP - 1,
    *,
    shorten: bool = False,
) -> None:
    """Wrapped body text in the small face.

    Our own texts must fit (LayoutError otherwise); `shorten` is for messages that come from
    services, whose length we do not control: the last line that fits ends in "...".
    """
    line_height = 12
    rows = (bottom - top - 12) // line_height + 1
    lines = p.wrap(text, WIDTH - 2, small())
    if len(lines) > rows:
        if not shorten:
            raise LayoutError(f"paragraph too long for the screen: {text!r}")
        lines = lines[:rows]
        last = lines[-1]
        while last and p.text_width(last + "...", small()) > WIDTH - 2:
            last = last[:-1]
        lines[-1] = last.rstrip() + "..."
    baseline = top + 9
    for line in lines:
        p.text(1, baseline, line, small())
        baseline += line_height


@dataclass(frozen=True, slots=True)
class _Line:
    label: str
    value: str
    item: int  # index of the (label, value) row this line belongs to


def _kv_lines(p: Painter, rows: tuple[Row, ...], width: int = WIDTH) -> list[_Line]:
    """One line per row when label and value fit side by side, else the value goes below."""
    out: list[_Line] = []
    for index, (label, value) in enumerate(rows):
        room = width - p.text_width(label, small()) - 6
        if p.text_width(value, narrow()) <= room:
            out.append(_Line(label, value, index))
            continue
        out.append(_Line(label, "", index))
        out.extend(
            _Line("", part, index) for part in p.wrap(value, width - VALUE_INDENT - 1, narrow())
        )
    return out


def _draw_kv_line(p: Painter, line: _Line, baseline: int, *, inverse: bool) -> None:
    fill = OFF if inverse else ON
    if inverse:
        p.draw.rectangle((0, baseline - 9, WIDTH - 1, baseline + 2), fill=ON)
    if line.label:
        p.text(1, baseline, line.label, small(), fill=fill)
    if line.value and line.label:
        room = WIDTH - 1 - p.text_width(line.label, small()) - 6
        face = p.fit(line.value, room, small(), narrow())
        p.text(WIDTH - 1, baseline, line.value, face, align="right", fill=fill)
    elif line.value:  # a long value on its own line(s), under its label
        face = p.fit(line.value, WIDTH - VALUE_INDENT - 1, small(), narrow())
        p.text(VALUE_INDENT, baseline, line.value, face, fill=fill)


# --- the screens -------------------------------------------------------------------------------
def draw_screen(draw: ImageDraw.ImageDraw, view: MenuView, data: PanelData) -> None:
    """Draw the screen `view.screen` onto a cleared 128x64 canvas."""
    p = Painter(draw)
    _DRAWERS[view.screen](p, view, data)


def render(view: MenuView, data: PanelData) -> Image.Image:
    """The screen as a 1-bit image (what the luma device gets)."""
    image = Image.new("1", (WIDTH, HEIGHT), OFF)
    draw_screen(ImageDraw.Draw(image), view, data)
    return image


def _grid_line(data: PanelData) -> str:
    if data.reported is not None and data.reported.failsafe:
        return "FAIL-SAFE: no grid data"
    if data.reading_stale or data.reading is None:
        return "No grid data"
    power_kw = data.reading.total_power_w / 1000
    if abs(power_kw) < 0.005:
        return "Grid 0.00 kW"
    word = "import" if power_kw > 0 else "export"
    return f"Grid {word} {abs(power_kw):.2f} kW"


def _home(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Charge mode")
    label = data.mode.label
    p.text(WIDTH // 2, 32, label, p.fit(label, WIDTH, big(), bold()), align="center")
    p.text(WIDTH // 2, 47, _grid_line(data), small(), align="center")
    _footer(p, view)


def _mode_list(p: Painter, view: MenuView, data: PanelData) -> None:
    count = len(data.modes)
    _header(p, "Charge mode", f"{view.mode_index + 1}/{count}")
    visible = 4
    first = min(max(0, view.mode_index - 1), max(0, count - visible))
    for slot, index in enumerate(range(first, min(count, first + visible))):
        mode = data.modes[index]
        baseline = BODY_TOP + 10 + slot * 12
        selected = index == view.mode_index
        fill = OFF if selected else ON
        if selected:
            p.draw.rectangle((0, baseline - 10, WIDTH - 1, baseline + 2), fill=ON)
        if mode == data.mode:  # the mode in force carries a dot
            p.draw.ellipse((2, baseline - 6, 6, baseline - 2), fill=fill)
        p.text(10, baseline, mode.label, small(), fill=fill)


def _phase_text(phase: PhaseReading) -> tuple[str, str]:
    if Fault.CT_MISSING in phase.faults:
        return "--.-- A", "no CT"
    value = f"{phase.current_a:5.2f} A"
    if Fault.CLIPPED in phase.faults:
        return value, "over range"
    return value, {Direction.IMPORT: "import", Direction.EXPORT: "export"}.get(phase.direction, "")


def _measurements(p: Painter, view: MenuView, data: PanelData) -> None:
    reading = data.reading
    frequency = ""
    if reading is not None and reading.frequency_hz is not None and not data.reading_stale:
        frequency = f"{reading.frequency_hz:.2f} Hz"
    _header(p, "Currents", frequency)
    if reading is None or data.reading_stale:
        _paragraph(p, "No grid data.\nCheck the CT clamps or the P1 cable.", bottom=HEIGHT - 1)
        return
    for n in range(reading.phase_count):
        baseline = BODY_TOP + 10 + n * 12
        value, note = _phase_text(reading.phases[n])
        p.text(0, baseline, f"L{n + 1}", small())
        p.text(70, baseline, value, value_face(), align="right")
        if note:
            p.text(WIDTH - 1, baseline, note, small(), align="right")
    total_kw = reading.total_power_w / 1000
    p.text(0, HEIGHT - 1, "Total", small())
    p.text(WIDTH - 1, HEIGHT - 1, f"{total_kw:+.2f} kW", small(), align="right")


def _versions(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Software versions")
    for n, line in enumerate(_kv_lines(p, data.versions)):
        _draw_kv_line(p, line, BODY_TOP + 10 + n * 12, inverse=False)


def _settings(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Settings")
    for n, line in enumerate(data.settings_summary):
        p.text(0, BODY_TOP + 10 + n * 12, line, p.fit(line, WIDTH, small(), narrow()))
    _footer(p, view)


def _settings_list(p: Painter, view: MenuView, data: PanelData) -> None:
    rows = data.settings_rows
    _header(p, "Settings", f"{view.settings_index + 1}/{len(rows)}")
    lines = _kv_lines(p, rows)
    visible = 4
    selected = [n for n, line in enumerate(lines) if line.item == view.settings_index]
    # Keep the whole selected item in view, one line of context above it when possible.
    first = max(0, min(selected[0] - 1, len(lines) - visible))
    first = min(first, selected[0])
    first = max(first, selected[-1] - visible + 1)
    for slot, line in enumerate(lines[first : first + visible]):
        _draw_kv_line(p, line, BODY_TOP + 10 + slot * 12, inverse=line.item == view.settings_index)


def _unavailable(p: Painter, view: MenuView, what: str) -> None:
    _paragraph(p, f"{what} is not available on this device.")
    _footer(p, view, ok_label="HOME")


def _commissioning(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Commissioning")
    if data.commissioning is None:
        _unavailable(p, view, "Commissioning")
        return
    _paragraph(p, "Hold OK for 5 s to start the Wi-Fi access point.")
    _footer(p, view, ok_label="HOME")


def wifi_qr_payload(ssid: str, code: str) -> str:
    """The Wi-Fi join QR text (WPA2); `\\ ; , : "` are escaped as the format requires."""

    def escape(text: str) -> str:
        for char in '\\;,:"':
            text = text.replace(char, "\\" + char)
        return text

    return f"WIFI:T:WPA;S:{escape(ssid)};P:{escape(code)};;"


def _draw_qr(p: Painter, payload: str, size: int) -> None:
    """A QR code on a lit square of `size` pixels (dark modules on light, as scanners expect)."""
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(payload)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    modules = len(matrix)
    scale = max(1, size // (modules + 2))
    if modules * scale > size:
        raise LayoutError(f"QR code of {modules} modules does not fit {size} px")
    offset = (size - modules * scale) // 2
    p.draw.rectangle((0, 0, size - 1, size - 1), fill=ON)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = offset + x * scale, offset + y * scale
                p.draw.rectangle((x0, y0, x0 + scale - 1, y0 + scale - 1), fill=OFF)


def _commissioning_active(p: Painter, view: MenuView, data: PanelData) -> None:
    status = data.commissioning or CommissioningStatus(active=False)
    if status.error or data.action_error:
        _header(p, "Commissioning")
        _paragraph(p, f"Failed: {status.error or data.action_error}", shorten=True)
        _footer(p, view, ok_label="HOME")
        return
    if not status.active:
        _header(p, "Commissioning")
        _paragraph(p, "Starting the Wi-Fi access point ...")
        _footer(p, view)
        return
    if status.station_connected and status.url:
        _header(p, "Commissioning")
        p.text(0, BODY_TOP + 10, "Connected. Open:", small())
        url = status.url
        p.text(0, BODY_TOP + 25, url, p.fit(url, WIDTH, bold(), small(), narrow()))
        _footer(p, view)
        return
    _draw_qr(p, wifi_qr_payload(status.ssid, status.code), HEIGHT)
    x = HEIGHT + 3
    room = WIDTH - x
    p.text(x, 9, "Wi-Fi", small())
    p.text(x, 21, status.ssid, p.fit(status.ssid, room, small(), narrow(), tiny()))
    p.text(x, 35, "Code", small())
    p.text(x, 48, status.code, p.fit(status.code, room, value_face(), bold(), small()))
    p.text(x, HEIGHT - 3, "OK: stop", small())


def _firmware_update(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Firmware update")
    if data.update is None:
        _unavailable(p, view, "Firmware update")
        return
    _paragraph(p, "Hold OK for 5 s to check for and install a new version.")
    _footer(p, view, ok_label="HOME")


_UPDATE_STATE_TEXT = {
    UpdateState.IDLE: "Starting ...",
    UpdateState.CHECKING: "Checking ...",
    UpdateState.DOWNLOADING: "Downloading ...",
    UpdateState.VERIFYING: "Verifying ...",
    UpdateState.INSTALLING: "Installing ...",
    UpdateState.RESTARTING: "Restarting ...",
    UpdateState.UP_TO_DATE: "Already up to date",
    UpdateState.DONE: "Update installed",
    UpdateState.FAILED: "Update failed",
}


def _update_running(p: Painter, view: MenuView, data: PanelData) -> None:
    progress = data.update or UpdateProgress(UpdateState.FAILED, message="not available")
    if data.action_error:
        progress = UpdateProgress(UpdateState.FAILED, message=data.action_error)
    if not progress.running and progress.state is not UpdateState.IDLE:
        _header(p, _UPDATE_STATE_TEXT[progress.state])
        if progress.message:
            _paragraph(p, progress.message, shorten=True)
        _footer(p, view)
        return
    _header(p, "Firmware update")
    p.text(0, BODY_TOP + 10, _UPDATE_STATE_TEXT[progress.state], bold())
    if progress.running:
        _progress_bar(p, BODY_TOP + 15, progress.percent / 100)
        p.text(WIDTH - 1, BODY_TOP + 34, f"{progress.percent} %", small(), align="right")
        if progress.message:
            p.text(
                0, BODY_TOP + 34, progress.message, p.fit(progress.message, 90, small(), narrow())
            )
        p.text(0, HEIGHT - 3, "Do not power off", small())
        return
    _footer(p, view)


def _factory_reset(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Factory reset")
    if not data.factory_reset_available:
        _unavailable(p, view, "Factory reset")
        return
    _paragraph(p, "Hold OK for 10 s to reset all settings to factory defaults.")
    _footer(p, view, ok_label="HOME")


def _factory_reset_confirm(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Factory reset?")
    _paragraph(p, "Settings, Wi-Fi and mode are erased. Hold OK 10 s to confirm.")
    _footer(p, view, ok_label="CANCEL")


def _resetting(p: Painter, view: MenuView, data: PanelData) -> None:
    _header(p, "Factory reset")
    if data.action_error:
        _paragraph(p, f"Failed: {data.action_error}", shorten=True)
        _footer(p, view)
        return
    _paragraph(p, "Resetting to factory defaults, then restarting.")


_DRAWERS = {
    Screen.HOME: _home,
    Screen.MODE_LIST: _mode_list,
    Screen.MEASUREMENTS: _measurements,
    Screen.VERSIONS: _versions,
    Screen.SETTINGS: _settings,
    Screen.SETTINGS_LIST: _settings_list,
    Screen.COMMISSIONING: _commissioning,
    Screen.COMMISSIONING_ACTIVE: _commissioning_active,
    Screen.FIRMWARE_UPDATE: _firmware_update,
    Screen.UPDATE_RUNNING: _update_running,
    Screen.FACTORY_RESET: _factory_reset,
    Screen.FACTORY_RESET_CONFIRM: _factory_reset_confirm,
    Screen.RESETTING: _resetting,
}
assert set(_DRAWERS) == set(Screen), "every screen needs a drawing"
