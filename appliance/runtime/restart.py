"""Run a part with the settings it depends on, and restart it when those settings change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from appliance.runtime.topic import Topic
from appliance.settings import Settings

T = TypeVar("T")


async def _cancel(task: asyncio.Task[object]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def restart_on_change(
    changes: Topic[Settings],
    select: Callable[[Settings], T],
    run: Callable[[T], Awaitable[None]],
) -> None:
    """Run `run(select(settings))` and restart it whenever new settings select something else.

    A failure of `run` propagates (the supervisor decides); runs until cancelled.
    """
    settings = changes.latest if changes.latest is not None else await changes.next()
    while True:
        selected = select(settings)
        task: asyncio.Task[None] = asyncio.ensure_future(run(selected))
        try:
            while True:
                change = asyncio.ensure_future(changes.next())
                done, _ = await asyncio.wait({task, change}, return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    await _cancel(change)
                    task.result()  # raises the part's failure
                    settings = await _next_different(changes, select, selected)
                    break
                settings = change.result()
                if select(settings) != selected:
                    break
        finally:
            await _cancel(task)


async def _next_different(
    changes: Topic[Settings], select: Callable[[Settings], T], old: T
) -> Settings:
    while True:
        settings = await changes.next()
        if select(settings) != old:
            return settings
