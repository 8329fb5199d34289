"""The telegram stream on TCP, as P1 network dongles serve it (Home Assistant's DSMR
integration in network mode, dsmr_parser's socket reader).

Every client gets every telegram whole. Writes never wait for a client: a client whose unsent
backlog exceeds `max_backlog_bytes` (slow, or gone without closing) is disconnected, so it
cannot hold up the others or grow memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MAX_BACKLOG_BYTES = 8 * 1024  # ~8 telegrams queued in the process
KERNEL_SEND_BUFFER = 32 * 1024  # and at most this much in the kernel per client


@dataclass
class _Client:
    writer: asyncio.StreamWriter
    peer: str


@dataclass
class TcpStats:
    connected: int = 0
    dropped_slow: int = 0
    telegrams: int = 0


@dataclass
class TelegramTcpServer:
    host: str
    port: int
    max_backlog_bytes: int = MAX_BACKLOG_BYTES
    stats: TcpStats = field(default_factory=TcpStats)
    _clients: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: dict[asyncio.StreamWriter, _Client] = field(default_factory=dict)
    _server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (an ephemeral one when `port` is 0)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        bound: int = self._server.sockets[0].getsockname()[1]
        self.port = bound
        log.info("P1 telegrams on tcp://%s:%d", self.host, bound)
        return bound

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Aborting the transports ends each handler's read loop, so handlers finish by
        # themselves (cancelling them would make asyncio's stream callback log errors).
        for writer in list(self._writers):
            writer.transport.abort()
        if self._clients:
            await asyncio.wait(set(self._clients), timeout=1.0)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def client_count(self) -> int:
        return len(self._writers)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        peer = str(writer.get_extra_info("peername"))
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)
        self._writers[writer] = _Client(writer, peer)
        self.stats.connected += 1
        log.info("P1 TCP client %s connected", peer)
        try:
            # P1 is one-way; whatever a client sends is read and dropped, to notice its close.
            while await reader.read(1024):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.pop(writer, None)
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            log.info("P1 TCP client %s gone", peer)

    def broadcast(self, telegram: bytes) -> None:
        """Queue `telegram` to every client without waiting; drop clients that lag behind."""
        self.stats.telegrams += 1
        for writer, client in list(self._writers.items()):
            transport = writer.transport
            if transport.is_closing():
                continue
            if transport.get_write_buffer_size() + len(telegram) > self.max_backlog_bytes:
                log.warning("P1 TCP client %s too slow, disconnecting", client.peer)
                self.stats.dropped_slow += 1
                self._writers.pop(writer, None)
                transport.abort()
                continue
            writer.write(telegram)
