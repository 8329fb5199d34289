"""Keeps the appliance's parts running: a part that fails is logged and restarted with backoff.

A meter must not go silent because its web page crashed, so parts are isolated from each other.
A part that keeps failing faster than `max_failures` within `window_s` stops the whole process,
and systemd restarts it (then reboots, as the last resort of the unit's start limit).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from appliance.clock import Clock

log = logging.getLogger(__name__)

Part = Callable[[], Awaitable[None]]


class PartFailedError(RuntimeError):
    """A part failed too often; the process gives up so that systemd can restart it."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_failures: int = 5
    window_s: float = 300.0


async def supervise(
    name: str,
    part: Part,
    clock: Clock,
    policy: RestartPolicy = RestartPolicy(),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run `part` until cancelled; restart it after a failure, give up after too many."""
    failures: deque[float] = deque()
    delay = policy.first_delay_s
    while True:
        try:
            await part()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            now = clock.monotonic()
            failures.append(now)
            while failures and now - failures[0] > policy.window_s:
                failures.popleft()
            if len(failures) >= policy.max_failures:
                raise PartFailedError(
                    f"{name} failed {len(failures)} times in {policy.window_s:.0f} s"
                ) from exc
            log.exception("%s failed; restarting in %.0f s", name, delay)
            await sleep(delay)
            delay = min(delay * 2, policy.max_delay_s)
        else:
            log.info("%s finished", name)
            return
