"""The sd_notify protocol as systemd sees it: datagrams on an AF_UNIX socket from NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.clock import FakeClock
from appliance.grid import GridReading, PhaseReading, Source
from appliance.runtime.notify import Notifier, report_health
from appliance.runtime.topic import Topic


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    # AF_UNIX paths are limited to 108 bytes: keep it short rather than under tmp_path.
    directory = tempfile.mkdtemp(prefix="scc-notify-")
    path = os.path.join(directory, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()
    Path(path).unlink()
    os.rmdir(directory)


def received(sock: socket.socket) -> list[str]:
    """Every datagram waiting on the socket, decoded."""
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return messages


def reading(at: float) -> GridReading:
    phase = PhaseReading.absent(230.0)
    return GridReading(at, at, Source.CT, (phase, phase, phase))


def test_ready_status_watchdog_stopping_arrive_as_datagrams(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"})
    notifier.ready("measuring")
    notifier.watchdog()
    notifier.status("updating 40%")
    notifier.stopping()
    assert received(sock) == [
        "READY=1\nSTATUS=measuring",
        "WATCHDOG=1",
        "STATUS=updating 40%",
        "STOPPING=1",
    ]
    assert notifier.watchdog_interval_s == 15.0


def test_abstract_namespace_socket() -> None:
    name = f"scc-notify-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(64) == b"READY=1"


def test_without_systemd_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None
    notifier.ready()
    notifier.watchdog()


def test_a_vanished_socket_is_reported_once_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": "/nonexistent/scc/notify"})
    notifier.watchdog()
    notifier.watchdog()
    assert sum("cannot notify systemd" in r.message for r in caplog.records) == 1


async def test_ready_at_first_fresh_reading_then_one_ping_per_fresh_reading(
    listener: tuple[socket.socket, str], clock: FakeClock
) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    readings: Topic[GridReading] = Topic()
    task = asyncio.create_task(report_health(notifier, readings, clock, "device 0000008879"))
    await asyncio.sleep(0)
    assert received(sock) == []  # no READY before the first measurement

    readings.publish(reading(clock.monotonic() - 60))  # stale: the loop was stuck
    await asyncio.sleep(0)
    assert received(sock) == []

    for _ in range(3):
        clock.advance(1)
        readings.publish(reading(clock.monotonic()))
        await asyncio.sleep(0)
    assert received(sock) == [
        "READY=1\nSTATUS=device 0000008879",
        "WATCHDOG=1",
        "WATCHDOG=1",
        "WATCHDOG=1",
    ]

    clock.advance(30)  # readings stop: no pings, systemd's watchdog will act
    await asyncio.sleep(0)
    assert received(sock) == []

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert received(sock) == ["STOPPING=1\nSTATUS=stopping"]
