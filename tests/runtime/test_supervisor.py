from __future__ import annotations

import pytest

from appliance.clock import FakeClock
from appliance.runtime.supervisor import PartFailedError, RestartPolicy, supervise


async def test_failing_part_is_restarted_with_backoff(clock: FakeClock) -> None:
    calls = 0
    delays: list[float] = []

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise OSError("bus hiccup")

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)
        clock.advance(seconds)

    await supervise("flaky", flaky, clock, RestartPolicy(first_delay_s=1), sleep=fake_sleep)
    assert calls == 3
    assert delays == [1, 2]


async def test_part_failing_too_often_stops_the_process(clock: FakeClock) -> None:
    async def broken() -> None:
        raise RuntimeError("always")

    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds)

    policy = RestartPolicy(first_delay_s=1, max_failures=3, window_s=60)
    with pytest.raises(PartFailedError, match="broken failed 3 times"):
        await supervise("broken", broken, clock, policy, sleep=fake_sleep)


async def test_failures_outside_the_window_are_forgotten(clock: FakeClock) -> None:
    calls = 0

    async def rarely_failing() -> None:
        nonlocal calls
        calls += 1
        if calls < 5:
            raise RuntimeError("once in a while")

    async def slow_sleep(seconds: float) -> None:
        clock.advance(100)

    policy = RestartPolicy(max_failures=3, window_s=150)
    await supervise("rare", rarely_failing, clock, policy, sleep=slow_sleep)
    assert calls == 5
