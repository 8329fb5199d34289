"""Golden frames of every screen, rendered through luma's dummy device, compared pixel for pixel.

Regenerate after an intended change of a screen (then look at every PNG before committing):

    SCC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/panel/test_screens.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from appliance.grid import Direction, GridReading, PhaseReading, Source
from appliance.modes import available_modes
from appliance.panel.menu import HoldProgress, MenuView
from appliance.panel.menu_tree import Screen
from appliance.panel.samples import Sample, all_samples, sample_data
from appliance.panel.screens import (
    HEIGHT,
    WIDTH,
    LayoutError,
    Painter,
    render,
    small,
    wifi_qr_payload,
)
from appliance.services import UpdateProgress, UpdateState
from drivers.display import open_dummy

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SCC_UPDATE_GOLDEN") == "1"
SAMPLES = all_samples()


def through_luma(sample: Sample) -> Image.Image:
    display = open_dummy()
    display.show(render(sample.view, sample.data))
    frame: Image.Image | None = display.device.image  # luma's own copy, not ours
    assert frame is not None
    return frame


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_golden_frame(sample: Sample) -> None:
    frame = through_luma(sample)
    golden = GOLDEN_DIR / f"{sample.name}.png"
    if UPDATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        frame.save(golden)
    expected = Image.open(golden)
    assert (expected.mode, expected.size) == ("1", (WIDTH, HEIGHT))
    assert frame.mode == "1"
    difference = ImageChops.difference(frame.convert("L"), expected.convert("L")).getbbox()
    assert difference is None, f"{sample.name} differs from its golden frame in {difference}"
    assert frame.tobytes() == expected.tobytes()


def test_every_screen_has_a_sample_and_no_golden_is_stale() -> None:
    assert {s.view.screen for s in SAMPLES} == set(Screen)
    names = {s.name for s in SAMPLES}
    assert {p.stem for p in GOLDEN_DIR.glob("*.png")} == names


def test_screens_differ_from_each_other() -> None:
    frames = {s.name: through_luma(s).tobytes() for s in SAMPLES}
    assert len(set(frames.values())) == len(frames)


def test_every_mode_fits_home_and_the_list() -> None:
    data = sample_data()
    modes = available_modes(3, 80)
    for index, mode in enumerate(modes):
        render(MenuView(Screen.HOME, 0, 0, None), replace(data, mode=mode, modes=modes))
        render(MenuView(Screen.MODE_LIST, index, 0, None), replace(data, mode=mode, modes=modes))


@pytest.mark.parametrize("amps", [0.0, 0.01, 9.99, 40.0, 79.99, 80.0])
def test_widest_currents_fit(amps: float) -> None:
    phase = PhaseReading(amps, -amps * 230, 230.0, 1.0, Direction.EXPORT)
    reading = GridReading(0.0, 0.0, Source.CT, (phase, phase, phase), frequency_hz=50.0)
    render(MenuView(Screen.MEASUREMENTS, 0, 0, None), replace(sample_data(), reading=reading))


def test_every_settings_row_can_be_selected() -> None:
    data = sample_data()
    for index in range(len(data.settings_rows)):
        render(MenuView(Screen.SETTINGS_LIST, 0, index, None), data)


def test_long_service_messages_are_shortened_not_overflowing() -> None:
    message = "the update server answered with an error that is much longer than the screen " * 3
    data = replace(sample_data(), update=UpdateProgress(UpdateState.FAILED, 0, message))
    image = render(MenuView(Screen.UPDATE_RUNNING, 0, 0, None), data)
    assert image.size == (WIDTH, HEIGHT)


def test_hold_bar_fills_with_the_hold() -> None:
    base = MenuView(Screen.COMMISSIONING, 0, 0, None)
    data = sample_data()
    lit = [
        render(replace(base, hold=HoldProgress(held, 5.0)), data)
        .crop((0, 54, 100, 64))
        .convert("L")
        .histogram()[255]
        for held in (0.5, 2.5, 4.9)
    ]
    assert lit[0] < lit[1] < lit[2]


def test_painter_refuses_text_off_the_screen() -> None:
    painter = Painter(ImageDraw.Draw(Image.new("1", (WIDTH, HEIGHT))))
    with pytest.raises(LayoutError):
        painter.text(100, 20, "CAPACITY 22 kW", small())
    with pytest.raises(LayoutError):
        painter.text(0, 70, "below", small())


def test_wifi_qr_payload_escapes_special_characters() -> None:
    assert wifi_qr_payload("SCC-00008879", "40718265") == "WIFI:T:WPA;S:SCC-00008879;P:40718265;;"
    assert wifi_qr_payload('a;b,c:d"e\\', "x") == 'WIFI:T:WPA;S:a\\;b\\,c\\:d\\"e\\\\;P:x;;'


ZBARIMG = shutil.which("zbarimg")


@pytest.mark.skipif(ZBARIMG is None, reason="zbarimg (zbar-tools) is not installed")
def test_commissioning_qr_code_scans_as_the_wifi_join_text(tmp_path: Path) -> None:
    """An independent decoder reads the QR code off the rendered screen, as a phone would."""
    sample = next(s for s in SAMPLES if s.name == "commissioning_qr")
    status = sample.data.commissioning
    assert status is not None
    frame = through_luma(sample)
    picture = tmp_path / "oled.png"
    frame.resize((WIDTH * 4, HEIGHT * 4), Image.Resampling.NEAREST).save(picture)
    assert ZBARIMG is not None
    decoded = subprocess.run(
        [ZBARIMG, "--quiet", "--raw", str(picture)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert decoded == f"WIFI:T:WPA;S:{status.ssid};P:{status.code};;"
