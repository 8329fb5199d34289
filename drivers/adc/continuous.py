"""Continuous acquisition: a reader thread keeps the converter busy while the caller is not.

An ADS131M0x has no FIFO (a result not read within one period is overwritten) and an MCP3208
converts only while it is clocked, so a caller that reads one block, then spends a few
milliseconds on the metering engine, would lose conversions at every block boundary. The
reader thread reads small chunks back to back; `read_block` cuts them into gap-free blocks by
sample time. The buffer stays at most `lead_s` beyond the duration asked for, so in simulation
(virtual time) the fake chip never runs far ahead of the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

_NO_TIMES: npt.NDArray[np.float64] = np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive samples of every role, and the stretch of time they cover."""

    codes: npt.NDArray[np.int32]  # (roles, n)
    times_s: npt.NDArray[np.float64]  # (roles, n)
    start_s: float  # the first conversion slot, whether or not its sample survived
    end_s: float  # where the next chunk's first slot begins
    # Instants of the conversion slots whose frame failed its CRC / was overwritten unread.
    crc_error_times_s: npt.NDArray[np.float64] = field(default_factory=lambda: _NO_TIMES)
    missed_times_s: npt.NDArray[np.float64] = field(default_factory=lambda: _NO_TIMES)

    def split(self, at_s: float) -> tuple[Chunk, Chunk]:
        """The parts before and from `at_s` (by the first role's sample times)."""
        cut = int(np.searchsorted(self.times_s[0], at_s))
        crc = self.crc_error_times_s
        missed = self.missed_times_s
        before = Chunk(
            self.codes[:, :cut],
            self.times_s[:, :cut],
            self.start_s,
            at_s,
            crc[crc < at_s],
            missed[missed < at_s],
        )
        after = Chunk(
            self.codes[:, cut:],
            self.times_s[:, cut:],
            at_s,
            self.end_s,
            crc[crc >= at_s],
            missed[missed >= at_s],
        )
        return before, after


@dataclass(frozen=True, slots=True)
class Assembled:
    codes: npt.NDArray[np.int32]
    times_s: npt.NDArray[np.float64]
    crc_errors: int
    missed_frames: int


class ContinuousReader:
    """Runs `read_chunk` in a thread from the first `read_block` until `close`."""

    def __init__(
        self, read_chunk: Callable[[], Chunk], roles: int, *, name: str, lead_s: float = 0.25
    ) -> None:
        self._read_chunk = read_chunk
        self._roles = roles
        self._name = name
        self._lead_s = lead_s
        self._chunks: list[Chunk] = []
        self._block_start: float | None = None
        self._wanted_until: float | None = None
        self._error: BaseException | None = None
        self._stopping = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def read_block(self, duration_s: float) -> Assembled:
        """The samples of the next `duration_s`, from where the previous block ended."""
        if duration_s <= 0:
            raise ValueError("a block lasts a positive time")
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._changed.wait_for(lambda: self._error is not None or bool(self._chunks))
            self._raise_error()
            if self._block_start is None:
                self._block_start = self._chunks[0].start_s
            until = self._block_start + duration_s
            self._wanted_until = until
            self._changed.notify_all()
            self._changed.wait_for(
                lambda: self._error is not None or self._chunks[-1].end_s >= until
            )
            self._raise_error()
            block = self._take(until)
            self._block_start = until
            self._changed.notify_all()
            return block

    def close(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _take(self, until: float) -> Assembled:
        """Remove everything before `until` from the buffer (splitting one chunk if needed)."""
        taken: list[Chunk] = []
        while self._chunks and self._chunks[0].start_s < until:
            chunk = self._chunks.pop(0)
            if chunk.end_s > until:
                chunk, rest = chunk.split(until)
                self._chunks.insert(0, rest)
            taken.append(chunk)
        empty_codes = np.empty((self._roles, 0), dtype=np.int32)
        empty_times = np.empty((self._roles, 0), dtype=np.float64)
        return Assembled(
            codes=np.concatenate([empty_codes, *(c.codes for c in taken)], axis=1),
            times_s=np.concatenate([empty_times, *(c.times_s for c in taken)], axis=1),
            crc_errors=sum(len(c.crc_error_times_s) for c in taken),
            missed_frames=sum(len(c.missed_times_s) for c in taken),
        )

    def _has_room(self) -> bool:
        if not self._chunks:
            return True
        if self._wanted_until is None:
            return False  # one chunk is enough to learn where the first block starts
        return self._chunks[-1].end_s < self._wanted_until + self._lead_s

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._stopping or self._has_room())
                if self._stopping:
                    return
            try:
                chunk = self._read_chunk()
            except Exception as exc:  # handed to the caller of read_block
                with self._changed:
                    self._error = exc
                    self._changed.notify_all()
                return
            with self._changed:
                self._chunks.append(chunk)
                self._changed.notify_all()
