"""Typed keys for what the web app keeps in its `web.Application` mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from appliance.runtime.context import RuntimeContext

CONTEXT = web.AppKey("context", RuntimeContext)


class BackgroundTasks:
    """Tasks a request starts and the app must keep referenced (and cancel at shutdown)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def start(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def cancel_all(self, app: web.Application) -> None:
        for task in list(self.tasks):
            task.cancel()


BACKGROUND_TASKS = web.AppKey("background_tasks", BackgroundTasks)


class SavedNotices(dict[str, list[str]]):
    """Per session: the notices of a form just saved, shown once by the page redirected to.

    Bounded: only the newest few sessions are kept (one phone uses the pages at a time).
    """

    LIMIT = 16

    def __setitem__(self, session: str, notices: list[str]) -> None:
        self.pop(session, None)
        while len(self) >= self.LIMIT:
            del self[next(iter(self))]
        super().__setitem__(session, notices)


SAVED_NOTICES = web.AppKey("saved_notices", SavedNotices)
