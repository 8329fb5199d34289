"""The button driver on gpiozero's MockFactory: press, release, bounce, hold."""

# The objects under test change state inside calls, which mypy cannot see; its narrowing of
# `x.screen is ...` across those calls is wrong, so those two checks are off here.
# mypy: disable-error-code="comparison-overlap,unreachable"

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.clock import FakeClock
from appliance.panel.buttons import (
    SETTLE_S,
    Button,
    ButtonDecoder,
    Edge,
    HoldReached,
    LongRelease,
)
from drivers.buttons import PanelButtons
from drivers.pinmap import load_pinmap

Record = tuple[str, bool, float]


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


@pytest.fixture
def pins() -> dict[str, int]:
    pinmap = load_pinmap()
    return {"left": pinmap.button_left, "ok": pinmap.button_ok, "right": pinmap.button_right}


def make(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock, bounce_s: float = 0.03
) -> tuple[PanelButtons, list[Record]]:
    edges: list[Record] = []
    buttons = PanelButtons(
        pins,
        lambda name, pressed, at: edges.append((name, pressed, at)),
        pin_factory=factory,
        bounce_s=bounce_s,
        monotonic=clock.monotonic,
    )
    return buttons, edges


def test_buttons_use_the_pin_map_with_pull_ups(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    buttons, _ = make(factory, pins, clock)
    for pin in pins.values():
        assert factory.pin(pin).pull == "up"
    buttons.close()


def test_press_and_release_are_timestamped(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    buttons, edges = make(factory, pins, clock)
    ok = factory.pin(pins["ok"])
    ok.drive_low()  # pressed: the switch pulls the input to ground
    assert buttons.is_pressed("ok")
    clock.advance(0.25)
    ok.drive_high()
    assert edges == [("ok", True, 1000.0), ("ok", False, 1000.25)]
    buttons.close()


def test_each_button_reports_its_own_name(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    buttons, edges = make(factory, pins, clock)
    for name in ("left", "right"):
        factory.pin(pins[name]).drive_low()
        factory.pin(pins[name]).drive_high()
    assert [(name, pressed) for name, pressed, _ in edges] == [
        ("left", True),
        ("left", False),
        ("right", True),
        ("right", False),
    ]
    buttons.close()


def test_debounce_is_configured_on_every_pin(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    buttons, _ = make(factory, pins, clock, bounce_s=0.03)
    assert {factory.pin(pin).bounce for pin in pins.values()} == {0.03}
    buttons.close()


def test_contact_bounce_gives_one_press_through_the_decoder(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    """gpiozero's mock pins do not emulate `bounce_time`; the decoder's settle filter holds."""
    decoder = ButtonDecoder()
    events: list[object] = []

    def listener(name: str, pressed: bool, at: float) -> None:
        events.extend(decoder.feed(Edge(Button(name), pressed, at)))

    buttons = PanelButtons(pins, listener, pin_factory=factory, monotonic=clock.monotonic)
    ok = factory.pin(pins["ok"])
    for _ in range(5):  # closing chatter
        ok.drive_low()
        clock.advance(0.001)
        ok.drive_high()
        clock.advance(0.001)
    ok.drive_low()
    clock.advance(0.2)
    for _ in range(3):  # opening chatter
        ok.drive_high()
        clock.advance(0.001)
        ok.drive_low()
        clock.advance(0.001)
    ok.drive_high()
    clock.advance(SETTLE_S)
    events.extend(decoder.tick(clock.monotonic()))
    assert [type(e).__name__ for e in events] == ["Pressed", "ShortPress"]
    buttons.close()


def test_without_debounce_the_chatter_would_show(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    buttons, edges = make(factory, pins, clock, bounce_s=0.0)
    ok = factory.pin(pins["ok"])
    for _ in range(3):
        ok.drive_low()
        ok.drive_high()
    assert len(edges) == 6
    buttons.close()


def test_a_five_second_hold_through_the_decoder(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    decoder = ButtonDecoder()
    events: list[object] = []

    def listener(name: str, pressed: bool, at: float) -> None:
        events.extend(decoder.feed(Edge(Button(name), pressed, at)))

    buttons = PanelButtons(pins, listener, pin_factory=factory, monotonic=clock.monotonic)
    factory.pin(pins["ok"]).drive_low()
    clock.advance(5.0)
    events.extend(decoder.tick(clock.monotonic()))
    assert events[-1] == HoldReached(Button.OK, 5.0, 1005.0)
    clock.advance(1.0)
    factory.pin(pins["ok"]).drive_high()
    clock.advance(SETTLE_S)
    events.extend(decoder.tick(clock.monotonic()))
    assert events[-1] == LongRelease(Button.OK, 6.0, 1006.0)
    buttons.close()


def test_close_releases_the_pins(
    factory: MockFactory, pins: dict[str, int], clock: FakeClock
) -> None:
    buttons, _ = make(factory, pins, clock)
    buttons.close()
    again, _ = make(factory, pins, clock)  # would raise GPIOPinInUse if still held
    again.close()
