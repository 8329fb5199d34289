"""docs/panel.md stays in step with the menu tree and shows every screen; `scc screens` works."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from appliance.cli import main
from appliance.panel.menu_tree import markdown_table
from appliance.panel.samples import all_samples

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_menu_table_in_the_docs_is_the_menu_tree() -> None:
    assert markdown_table() in (DOCS / "panel.md").read_text(encoding="utf-8")


def test_docs_show_every_sample_screen() -> None:
    text = (DOCS / "panel.md").read_text(encoding="utf-8")
    for sample in all_samples():
        assert f"screens/{sample.name}@4x.png" in text
        assert (DOCS / "screens" / f"{sample.name}@4x.png").exists()


def test_scc_screens_writes_1x_and_scaled_pngs(tmp_path: Path) -> None:
    assert main(["screens", "--out", str(tmp_path), "--scale", "3"]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert len(names) == 2 * len(all_samples())
    one = Image.open(tmp_path / "home.png")
    big = Image.open(tmp_path / "home@3x.png")
    assert one.size == (128, 64)
    assert big.size == (384, 192)
    # Nearest neighbour: every 3x3 block is one pixel of the original.
    assert big.resize((128, 64), Image.Resampling.NEAREST).tobytes() == one.tobytes()
