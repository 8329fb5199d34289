from __future__ import annotations

import asyncio

from appliance.runtime.topic import Topic


async def test_consumers_see_the_newest_value() -> None:
    topic: Topic[int] = Topic()
    seen: list[int] = []

    async def consume() -> None:
        async for value in topic.updates():
            seen.append(value)
            if value == 3:
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    for value in (1, 2, 3):
        topic.publish(value)
        await asyncio.sleep(0)
    await asyncio.wait_for(task, 1)
    assert seen == [1, 2, 3]
    assert topic.latest == 3
    assert topic.sequence == 3
