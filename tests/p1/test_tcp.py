"""The TCP telegram server: a client that stops reading is dropped, the others get everything."""

from __future__ import annotations

import asyncio
import socket

from appliance.p1.reader import TelegramFramer
from appliance.p1.tcp import TelegramTcpServer
from appliance.p1.telegram import build_telegram
from tests.p1.helpers import DEVICE, manual_example

TELEGRAMS = 3000  # ~2.4 MB: far more than a stuck client's socket buffers hold


async def test_stuck_client_is_dropped_and_never_blocks_the_others() -> None:
    server = TelegramTcpServer("127.0.0.1", 0)
    port = await server.start()
    try:
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", port))  # never reads
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            if server.client_count == 2:
                break
            await asyncio.sleep(0.01)
        telegram = build_telegram(manual_example(), DEVICE)
        framer = TelegramFramer()
        received = 0

        async def consume() -> None:
            nonlocal received
            while received < TELEGRAMS:
                received += len(framer.feed(await reader.read(65536)))

        consumer = asyncio.create_task(consume())
        for _ in range(TELEGRAMS):
            server.broadcast(telegram)
            await asyncio.sleep(0)  # one telegram per loop turn, as windows arrive
        await asyncio.wait_for(consumer, 10.0)
        assert received == TELEGRAMS
        assert framer.stats.rejected_total == 0
        assert server.stats.dropped_slow == 1
        assert server.client_count == 1
        writer.close()
        stuck.close()
    finally:
        await server.close()


async def test_clients_come_and_go() -> None:
    server = TelegramTcpServer("127.0.0.1", 0)
    port = await server.start()
    try:
        for _ in range(5):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"ignored input\r\n")
            writer.close()
        server.broadcast(build_telegram(manual_example(), DEVICE))
        await asyncio.sleep(0.1)
        assert server.client_count == 0
        assert server.stats.connected == 5
    finally:
        await server.close()
