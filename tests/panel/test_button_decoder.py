"""The pure button decoder: timestamped edges in, short presses and hold thresholds out."""

from __future__ import annotations

import pytest

from appliance.panel.buttons import (
    SETTLE_S,
    Button,
    ButtonDecoder,
    ButtonEvent,
    Edge,
    HoldReached,
    LongRelease,
    Pressed,
    ShortPress,
)

T0 = 1000.0


def down(at: float, button: Button = Button.OK) -> Edge:
    return Edge(button, True, at)


def up(at: float, button: Button = Button.OK) -> Edge:
    return Edge(button, False, at)


def release(decoder: ButtonDecoder, at: float, button: Button = Button.OK) -> list[ButtonEvent]:
    """Release and let the contact settle."""
    return [*decoder.feed(up(at, button)), *decoder.tick(at + SETTLE_S)]


def test_short_press() -> None:
    decoder = ButtonDecoder()
    assert decoder.feed(down(T0)) == [Pressed(Button.OK, T0)]
    assert decoder.feed(up(T0 + 0.2)) == []  # settling
    assert decoder.next_threshold_at() == pytest.approx(T0 + 0.2 + SETTLE_S)
    assert decoder.tick(T0 + 0.2 + SETTLE_S) == [ShortPress(Button.OK, T0 + 0.2)]
    assert not decoder.any_down()


@pytest.mark.parametrize("held", [4.9, 4.999])
def test_release_before_five_seconds_is_short(held: float) -> None:
    decoder = ButtonDecoder()
    decoder.feed(down(T0))
    assert decoder.tick(T0 + held) == []
    assert release(decoder, T0 + held) == [ShortPress(Button.OK, T0 + held)]


def test_thresholds_fire_while_held_exactly_when_reached() -> None:
    decoder = ButtonDecoder()
    decoder.feed(down(T0))
    assert decoder.next_threshold_at() == T0 + 5.0
    assert decoder.tick(T0 + 4.9) == []
    assert decoder.tick(T0 + 5.0) == [HoldReached(Button.OK, 5.0, T0 + 5.0)]
    assert decoder.tick(T0 + 5.5) == []  # fires once
    assert decoder.next_threshold_at() == T0 + 10.0
    assert decoder.tick(T0 + 9.9) == []
    assert decoder.tick(T0 + 10.0) == [HoldReached(Button.OK, 10.0, T0 + 10.0)]
    assert decoder.next_threshold_at() is None
    assert release(decoder, T0 + 12.0) == [LongRelease(Button.OK, 12.0, T0 + 12.0)]


def test_missed_ticks_are_caught_up_at_release_in_order() -> None:
    decoder = ButtonDecoder()
    decoder.feed(down(T0))
    assert release(decoder, T0 + 11.0) == [
        HoldReached(Button.OK, 5.0, T0 + 5.0),
        HoldReached(Button.OK, 10.0, T0 + 10.0),
        LongRelease(Button.OK, 11.0, T0 + 11.0),
    ]


def test_hold_progress() -> None:
    decoder = ButtonDecoder()
    assert decoder.hold_of(Button.OK, T0) is None
    decoder.feed(down(T0))
    assert decoder.hold_of(Button.OK, T0 + 2.5) == pytest.approx(2.5)
    assert [h.button for h in decoder.holds(T0 + 1)] == [Button.OK]


def test_repeated_down_and_lone_up_are_ignored() -> None:
    decoder = ButtonDecoder()
    assert decoder.feed(up(T0)) == []  # held at start-up, released later
    decoder.feed(down(T0))
    assert decoder.feed(down(T0 + 1)) == []
    assert release(decoder, T0 + 2) == [ShortPress(Button.OK, T0 + 2)]


def test_buttons_are_independent() -> None:
    decoder = ButtonDecoder()
    decoder.feed(down(T0, Button.OK))
    decoder.feed(down(T0 + 1, Button.LEFT))
    assert release(decoder, T0 + 1.5, Button.LEFT) == [ShortPress(Button.LEFT, T0 + 1.5)]
    assert decoder.tick(T0 + 5) == [HoldReached(Button.OK, 5.0, T0 + 5)]


def test_thresholds_must_ascend() -> None:
    with pytest.raises(ValueError):
        ButtonDecoder((10.0, 5.0))


def test_bounce_when_closing_is_one_press() -> None:
    decoder = ButtonDecoder()
    events = decoder.feed(down(T0))
    for n in range(4):  # the contact chatters for 4 ms
        events += decoder.feed(up(T0 + 0.001 * (2 * n + 1)))
        events += decoder.feed(down(T0 + 0.001 * (2 * n + 2)))
    events += release(decoder, T0 + 0.3)
    assert events == [Pressed(Button.OK, T0), ShortPress(Button.OK, T0 + 0.3)]


def test_bounce_when_opening_is_one_release() -> None:
    decoder = ButtonDecoder()
    events = decoder.feed(down(T0))
    events += decoder.feed(up(T0 + 0.3))
    events += decoder.feed(down(T0 + 0.301))
    events += decoder.feed(up(T0 + 0.302))
    events += decoder.tick(T0 + 0.302 + SETTLE_S)
    assert events == [Pressed(Button.OK, T0), ShortPress(Button.OK, T0 + 0.302)]


def test_bounce_during_a_hold_does_not_end_it() -> None:
    decoder = ButtonDecoder()
    decoder.feed(down(T0))
    decoder.feed(up(T0 + 4.99))
    decoder.feed(down(T0 + 4.995))
    assert decoder.tick(T0 + 5.0) == [HoldReached(Button.OK, 5.0, T0 + 5.0)]


def test_settling_release_holds_back_thresholds() -> None:
    decoder = ButtonDecoder()
    decoder.feed(down(T0))
    decoder.feed(up(T0 + 4.99))
    assert decoder.hold_of(Button.OK, T0 + 5.0) is None
    assert decoder.tick(T0 + 5.01) == []  # released at 4.99: no 5 s action
    assert decoder.tick(T0 + 5.1) == [ShortPress(Button.OK, T0 + 4.99)]
