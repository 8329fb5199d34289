"""The sending decisions, driven by an injected clock: no I/O, no sleeping."""

from __future__ import annotations

import itertools

from appliance.clock import FakeClock
from appliance.grid import Fault
from appliance.p1.schedule import TelegramScheduler, Trigger, fresh_or_failsafe
from tests.p1.helpers import manual_example


def test_rising_edge_starts_a_telegram_at_once(clock: FakeClock) -> None:
    scheduler = TelegramScheduler()
    assert scheduler.on_window(clock.monotonic()) is None  # no request: silent
    clock.advance(0.3)
    assert scheduler.on_request(True, clock.monotonic()) is Trigger.REQUEST_EDGE
    assert scheduler.on_request(True, clock.monotonic()) is None  # level, not an edge


def test_one_telegram_per_window_while_request_is_high(clock: FakeClock) -> None:
    scheduler = TelegramScheduler()
    scheduler.on_request(True, clock.monotonic())
    starts = []
    for _ in range(3600):  # an hour of windows
        clock.advance(1.0)
        if scheduler.on_window(clock.monotonic()):
            starts.append(clock.monotonic())
        assert scheduler.on_timer(clock.monotonic()) is None  # windows keep the cadence
    periods = {round(b - a, 9) for a, b in itertools.pairwise(starts)}
    assert periods == {1.0}
    assert starts[-1] - starts[0] == 3599.0  # no drift: the windows' own monotonic grid


def test_request_drop_stops_sending_and_aborts_the_telegram(clock: FakeClock) -> None:
    scheduler = TelegramScheduler()
    scheduler.on_request(True, clock.monotonic())
    assert scheduler.may_continue()
    scheduler.on_request(False, clock.monotonic())
    assert not scheduler.may_continue()
    clock.advance(1.0)
    assert scheduler.on_window(clock.monotonic()) is None
    assert scheduler.deadline() is None


def test_send_without_request(clock: FakeClock) -> None:
    scheduler = TelegramScheduler(send_without_request=True)
    assert scheduler.on_window(clock.monotonic()) is Trigger.WINDOW
    assert scheduler.may_continue()


def test_own_clock_keeps_the_cadence_when_windows_stop(clock: FakeClock) -> None:
    scheduler = TelegramScheduler()
    scheduler.on_request(True, clock.monotonic())
    clock.advance(1.0)
    scheduler.on_window(clock.monotonic())
    last_window = clock.monotonic()
    deadline = scheduler.deadline()
    assert deadline == last_window + 1.25
    clock.advance(1.2)
    assert scheduler.on_timer(clock.monotonic()) is None  # not due yet
    fired = []
    for _ in range(1000):
        clock.advance(0.05)
        if scheduler.on_timer(clock.monotonic()):
            fired.append(clock.monotonic())
    assert len(fired) == 50
    # One per second on the grid of the last window (+ grace), without drift.
    for n, when in enumerate(fired, start=1):
        assert abs(when - (last_window + n + 0.25)) < 0.05 + 1e-9


def test_a_stalled_loop_skips_missed_slots(clock: FakeClock) -> None:
    scheduler = TelegramScheduler()
    scheduler.on_request(True, clock.monotonic())
    start = clock.monotonic()
    clock.advance(10.6)
    assert scheduler.on_timer(clock.monotonic()) is Trigger.OWN_CLOCK
    assert scheduler.deadline() == start + 10 + 1.25


def test_stale_reading_becomes_the_failsafe() -> None:
    reading = manual_example()  # window end at monotonic 100
    assert fresh_or_failsafe(reading, 105.0, 10.0) is reading
    stale = fresh_or_failsafe(reading, 110.5, 10.0)
    assert Fault.NO_DATA in stale.faults
    assert not stale.valid


def test_request_already_high_at_start_counts_as_an_edge(clock: FakeClock) -> None:
    assert TelegramScheduler().on_start(True, clock.monotonic()) is Trigger.REQUEST_EDGE
    assert TelegramScheduler().on_start(False, clock.monotonic()) is None
    quiet = TelegramScheduler(send_without_request=True)
    assert quiet.on_start(False, clock.monotonic()) is Trigger.REQUEST_EDGE
    assert quiet.deadline() == clock.monotonic() + 1.25  # the own clock runs from here
