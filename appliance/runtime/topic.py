"""Newest-value topics: one producer publishes, any number of consumers read the newest value
or wait for the next one. Slow consumers skip values instead of queueing them (an output only
ever needs the newest reading)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Topic(Generic[T]):
    def __init__(self, initial: T | None = None) -> None:
        self._value = initial
        self._sequence = 0 if initial is None else 1
        self._changed = asyncio.Event()

    @property
    def latest(self) -> T | None:
        return self._value

    @property
    def sequence(self) -> int:
        """How many values were published (consumers use it to notice skipped values)."""
        return self._sequence

    def publish(self, value: T) -> None:
        self._value = value
        self._sequence += 1
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def next(self) -> T:
        """Wait for the next published value."""
        await self._changed.wait()
        assert self._value is not None
        return self._value

    async def updates(self) -> AsyncIterator[T]:
        """The current value (if any), then every newer one; skipped values are not replayed."""
        if self._value is not None:
            yield self._value
        while True:
            yield await self.next()
