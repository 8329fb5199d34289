from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from drivers.errors import PinMapError
from drivers.pinmap import PinMap, load_pinmap

HARDWARE = Path(__file__).resolve().parents[2] / "hardware"


@pytest.fixture(scope="module")
def pins() -> PinMap:
    return load_pinmap()


def test_no_gpio_is_used_twice(pins: PinMap) -> None:
    everything = list(pins.application_gpios().values()) + list(pins.bus_gpios().values())
    twice = [pin for pin, count in Counter(everything).items() if count > 1]
    assert twice == []


def test_application_pins_avoid_buses_and_the_id_eeprom(pins: PinMap) -> None:
    taken = set(pins.bus_gpios().values())
    assert {0, 1} <= taken  # ID EEPROM reserved
    assert {2, 3} <= taken  # I2C1
    assert {8, 9, 10, 11} <= taken  # SPI0 with CE0
    assert {14, 15, 4, 5} <= taken  # UART0 (P1), UART3 (RS485)
    assert not set(pins.application_gpios().values()) & taken


def test_every_pin_is_on_the_40_pin_header(pins: PinMap) -> None:
    for pin in [*pins.application_gpios().values(), *pins.bus_gpios().values()]:
        assert 0 <= pin <= 27


def test_overlay_configures_exactly_the_application_pins(pins: PinMap) -> None:
    source = (HARDWARE / "overlay" / "scc-hat-overlay.dts").read_text(encoding="utf-8")
    groups = [
        [int(n) for n in group.split()] for group in re.findall(r"brcm,pins = <([\d ]+)>", source)
    ]
    inputs, outputs = groups
    app = pins.application_gpios()
    assert inputs == [
        app["button_left"],
        app["button_ok"],
        app["button_right"],
        app["p1_request"],
        app["adc_drdy"],
    ]
    assert outputs == [app["led_cs"], app["led_p1"], app["adc_reset"]]


def test_eeprom_sets_every_used_gpio(pins: PinMap) -> None:
    text = (HARDWARE / "eeprom" / "eeprom_settings.txt").read_text(encoding="utf-8")
    configured = {int(n) for n in re.findall(r"^setgpio (\d+) ", text, flags=re.MULTILINE)}
    expected = set(pins.application_gpios().values()) | set(pins.bus_gpios().values())
    assert configured == expected - set(pins.id_eeprom)


def test_malformed_pin_map_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "pinmap.toml"
    broken.write_text("[gpio]\nbutton_ok = 27\n", encoding="utf-8")
    with pytest.raises(PinMapError, match="missing"):
        load_pinmap(broken)
