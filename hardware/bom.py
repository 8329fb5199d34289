"""Bill of materials of each HAT variant, generated from the schematic and prices.csv."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from skidl import Circuit

from hardware.hat.schematic import HARDWARE_DIR, VARIANTS, Variant, build

PRICES_FILE = HARDWARE_DIR / "prices.csv"

# What the appliance needs besides the HAT (price estimates at 100 pieces, EUR).
SYSTEM_ITEMS: tuple[tuple[str, str, str, int, float], ...] = (
    ("Raspberry Pi Ltd", "SC0193", "Raspberry Pi 4 Model B 2 GB", 1, 42.00),
    ("Raspberry Pi Ltd", "SC1415", "microSD card 16 GB, A2", 1, 6.50),
    ("Generic", "SSD1306-128x64-I2C-0.96", "OLED module 0.96 in, SSD1306, I2C", 1, 2.80),
    ("Italtronic", "25.0004000", "Modulbox XTS 4M DIN-rail enclosure", 1, 6.90),
    ("YHDC", "SCT-013-000", "Split-core CT 100 A : 50 mA (2000:1), 3.5 mm plug", 3, 4.20),
    ("JLCPCB", "PCB-2L-65x56", "HAT PCB, 2 layers, 1.6 mm, 100 pieces", 1, 1.60),
)


@dataclass(frozen=True)
class BomLine:
    refs: tuple[str, ...]
    value: str
    manufacturer: str
    mpn: str
    description: str
    footprint: str
    unit_price_eur: float

    @property
    def quantity(self) -> int:
        return len(self.refs)

    @property
    def line_price_eur(self) -> float:
        return self.quantity * self.unit_price_eur


def _ref_key(ref: str) -> tuple[str, int]:
    """C10 after C9: the letters, then the number."""
    prefix = ref.rstrip("0123456789")
    return prefix, int(ref[len(prefix) :])


def load_prices(path: Path = PRICES_FILE) -> dict[str, float]:
    with path.open(encoding="utf-8", newline="") as file:
        return {row["mpn"]: float(row["unit_price_eur"]) for row in csv.DictReader(file)}


def bom_lines(circuit: Circuit, prices: dict[str, float]) -> list[BomLine]:
    grouped: dict[tuple[str, str], list[object]] = defaultdict(list)
    for part in circuit.parts:
        grouped[(part.MPN, part.value)].append(part)
    lines = []
    for (mpn, value), members in grouped.items():
        first = members[0]
        refs = sorted((p.ref for p in members), key=_ref_key)  # type: ignore[attr-defined]
        lines.append(
            BomLine(
                refs=tuple(refs),
                value=value,
                manufacturer=first.MFR,  # type: ignore[attr-defined]
                mpn=mpn,
                description=first.description,  # type: ignore[attr-defined]
                footprint=first.footprint,  # type: ignore[attr-defined]
                unit_price_eur=prices[mpn],
            )
        )
    return sorted(lines, key=lambda line: _ref_key(line.refs[0]))


def render_csv(lines: list[BomLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "refs",
            "qty",
            "value",
            "manufacturer",
            "mpn",
            "description",
            "footprint",
            "unit_eur",
            "line_eur",
        ]
    )
    for line in lines:
        writer.writerow(
            [
                " ".join(line.refs),
                line.quantity,
                line.value,
                line.manufacturer,
                line.mpn,
                line.description,
                line.footprint,
                f"{line.unit_price_eur:.2f}",
                f"{line.line_price_eur:.2f}",
            ]
        )
    board = sum(line.line_price_eur for line in lines)
    writer.writerow(["", "", "", "", "", "HAT components", "", "", f"{board:.2f}"])
    for manufacturer, mpn, description, quantity, price in SYSTEM_ITEMS:
        writer.writerow(
            [
                "system",
                quantity,
                "",
                manufacturer,
                mpn,
                description,
                "",
                f"{price:.2f}",
                f"{quantity * price:.2f}",
            ]
        )
    system = sum(quantity * price for *_, quantity, price in SYSTEM_ITEMS)
    writer.writerow(
        [
            "",
            "",
            "",
            "",
            "",
            "appliance total (estimate, 100 pieces)",
            "",
            "",
            f"{board + system:.2f}",
        ]
    )
    return out.getvalue()


def bom_path(variant: Variant) -> Path:
    return HARDWARE_DIR / f"bom-{variant}.csv"


def render(variant: Variant) -> str:
    return render_csv(bom_lines(build(variant), load_prices()))


def main() -> int:
    for variant in VARIANTS:
        text = render(variant)
        bom_path(variant).write_text(text, encoding="utf-8")
        print(f"{bom_path(variant).name}: {text.splitlines()[-1].split(',')[-1]} EUR")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
