"""A null-modem cable made of two pseudo-terminals: what one side writes, the other reads.

The simulated HAT's UART: product code opens `near_path` with pyserial exactly as it opens
/dev/ttyAMA0 on a Pi, and a consumer (`cat`, dsmr_parser, a test) opens `far_path`. A thread
copies bytes between the two masters in both directions, holding up to 64 kB per direction
while the receiving side catches up. Beyond that nobody is reading (a cable with nothing
plugged in): the backlog and the receiver's stale input are dropped, and the sender never
blocks.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
import tty
from types import TracebackType

_CHUNK = 4096
_BACKLOG = 64 * 1024  # per direction


class PtyNullModem:
    def __init__(self) -> None:
        self._near_master, near_slave = os.openpty()
        self._far_master, far_slave = os.openpty()
        self.near_path = os.ttyname(near_slave)
        self.far_path = os.ttyname(far_slave)
        # Raw mode on both ends: no echo, no CR/LF translation, bytes pass unchanged.
        for fd in (near_slave, far_slave):
            tty.setraw(fd)
        # Keep the slaves open so the masters never see EIO when a user closes their side.
        self._slaves = (near_slave, far_slave)
        for fd in (self._near_master, self._far_master):
            os.set_blocking(fd, False)
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._pump, name="pty-null-modem", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        peer = {self._near_master: self._far_master, self._far_master: self._near_master}
        # Bytes read from one side wait here until the other side's tty has room for them.
        pending = {fd: bytearray() for fd in peer}
        slave_of = dict(zip(peer, self._slaves, strict=True))
        while True:
            writable = [fd for fd in peer if pending[fd]]
            ready_r, ready_w, _ = select.select([*peer, self._wake_read], writable, [])
            if self._wake_read in ready_r:
                return
            for fd in ready_r:
                with contextlib.suppress(BlockingIOError, OSError):
                    backlog = pending[peer[fd]]
                    backlog += os.read(fd, _CHUNK)
                    if len(backlog) > _BACKLOG:
                        backlog.clear()
                        termios.tcflush(slave_of[peer[fd]], termios.TCIFLUSH)
            for fd in ready_w:
                try:
                    del pending[fd][: os.write(fd, pending[fd])]
                except BlockingIOError:
                    pass
                except OSError:
                    pending[fd].clear()  # that side is gone: the bytes are lost

    def close(self) -> None:
        if self._thread.is_alive():
            os.write(self._wake_write, b"x")
            self._thread.join()
        for fd in (self._near_master, self._far_master, *self._slaves):
            with contextlib.suppress(OSError):
                os.close(fd)
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyNullModem:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
