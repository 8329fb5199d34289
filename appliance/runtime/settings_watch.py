"""Run a part with the settings it depends on, restarting it when those settings change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

from appliance.runtime.context import RuntimeContext
from appliance.settings import Settings


async def run_restarting_on_change(
    ctx: RuntimeContext,
    key: Callable[[Settings], Hashable],
    part: Callable[[RuntimeContext], Coroutine[Any, Any, None]],
) -> None:
    """Run `part(ctx)`; cancel and restart it whenever `key(settings)` changes.

    Errors of `part` propagate (the supervisor restarts the whole part with backoff).
    """
    while True:
        current = key(ctx.settings.current)
        task = asyncio.create_task(part(ctx))
        try:
            while True:
                changed = asyncio.create_task(ctx.settings.changes.next())
                done, _ = await asyncio.wait({task, changed}, return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    changed.cancel()
                    task.result()  # re-raise the part's error
                    return
                if key(changed.result()) != current:
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
