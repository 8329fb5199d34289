"""A virtual serial cable: two pseudo-terminals whose bytes are copied to each other.

What `socat pty,raw,echo=0 pty,raw,echo=0` does, inside the asyncio loop: the product opens one
end as its serial port (pyserial, unchanged), a tool such as mbpoll opens the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty


class PtyPair:
    """Open with `open()`, close with `close()`; `device_path` and `peer_path` are the two ends."""

    def __init__(self) -> None:
        self._masters: tuple[int, int] | None = None
        self._slaves: tuple[int, int] | None = None
        self.device_path = ""
        self.peer_path = ""

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        master_a, slave_a = os.openpty()
        master_b, slave_b = os.openpty()
        for fd in (slave_a, slave_b):
            tty.setraw(fd)  # no echo, no line editing: bytes pass unchanged
        for fd in (master_a, master_b):
            os.set_blocking(fd, False)
        self._masters = (master_a, master_b)
        # Keep the slave ends open ourselves, so a client closing its end does not hang up
        # the line (reads on the master would fail with EIO until someone reopens it).
        self._slaves = (slave_a, slave_b)
        self.device_path = os.ttyname(slave_a)
        self.peer_path = os.ttyname(slave_b)
        loop.add_reader(master_a, self._copy, master_a, master_b)
        loop.add_reader(master_b, self._copy, master_b, master_a)
        self._loop = loop

    @staticmethod
    def _copy(source: int, target: int) -> None:
        try:
            data = os.read(source, 4096)
        except (BlockingIOError, OSError):
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(target, data)  # a full buffer drops bytes, like a line with no listener

    def close(self) -> None:
        if self._masters is None:
            return
        for fd in self._masters:
            self._loop.remove_reader(fd)
        for fd in (*self._masters, *(self._slaves or ())):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._masters = self._slaves = None
