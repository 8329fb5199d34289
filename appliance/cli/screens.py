"""`scc screens --out DIR`: every front-panel screen as PNG, at 1x and scaled up, from samples."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from PIL import Image

from appliance.panel.samples import all_samples
from appliance.panel.screens import render
from drivers.display import open_dummy

DEFAULT_SCALE = 4


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "screens", help="render every OLED screen to PNG files (1x and scaled up)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--scale", type=int, default=DEFAULT_SCALE, help="factor of the enlarged copies"
    )
    parser.set_defaults(handler=run)


def render_all(out: Path, scale: int = DEFAULT_SCALE) -> list[Path]:
    """Render through the luma dummy device (what the OLED would get); return the files."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    display = open_dummy()
    written: list[Path] = []
    for sample in all_samples():
        display.show(render(sample.view, sample.data))
        frame = display.last_frame
        assert frame is not None
        one = out / f"{sample.name}.png"
        frame.save(one)
        big = out / f"{sample.name}@{scale}x.png"
        frame.resize((frame.width * scale, frame.height * scale), Image.Resampling.NEAREST).save(
            big
        )
        written += [one, big]
    return written


def run(args: argparse.Namespace) -> int:
    written = render_all(args.out, args.scale)
    print(f"wrote {len(written)} PNG files to {args.out}")
    return 0
