"""Sends telegrams on the P1 UART in small chunks, checking the request line between chunks.

If request drops mid-telegram the rest is discarded at once (the kernel's output queue is
flushed too), so the charger never sees the tail of a telegram; the next telegram is whole.
`send` blocks for the telegram's air time (~70 ms at 115200 baud): run it in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

# 32 bytes = 2.8 ms at 115200 baud: the longest a dropped request line can still see data.
CHUNK_BYTES = 32


class SerialPort(Protocol):
    """The part of pyserial's `Serial` the writer uses."""

    def write(self, data: bytes, /) -> int | None: ...

    def flush(self) -> None: ...

    def reset_output_buffer(self) -> None: ...


@dataclass
class WriterStats:
    sent: int = 0
    aborted: int = 0
    bytes_sent: int = 0


class TelegramWriter:
    def __init__(
        self,
        port: SerialPort,
        may_continue: Callable[[], bool],
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self._port = port
        self._may_continue = may_continue
        self._chunk_bytes = chunk_bytes
        self.stats = WriterStats()

    def send(self, telegram: bytes) -> bool:
        """Write one telegram; True when it went out whole, False when request dropped."""
        for offset in range(0, len(telegram), self._chunk_bytes):
            if not self._may_continue():
                self._port.reset_output_buffer()
                self.stats.aborted += 1
                log.debug("request dropped after %d of %d bytes", offset, len(telegram))
                return False
            chunk = telegram[offset : offset + self._chunk_bytes]
            self._port.write(chunk)
            self._port.flush()  # tcdrain: the chunk is on the wire before the next check
            self.stats.bytes_sent += len(chunk)
        self.stats.sent += 1
        return True
