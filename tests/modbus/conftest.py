"""Modbus test fixtures: a fixed reported grid, servers in a background loop, a socat cable.

The servers run in their own thread and event loop so the independent clients (mbpoll,
uModbus, minimalmodbus), which block, can be called straight from the tests.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from appliance.clock import SystemClock
from appliance.grid import ReportedGrid, ReportedPhase
from appliance.modbus.log import RequestLog
from appliance.modbus.maps import register_map
from appliance.modbus.server import MeterEndpoint, MeterSerialServer, MeterTcpServer

T = TypeVar("T")

# L1 above 65.535 A so the high word of the mA register is not zero; L2 exports.
FIXED_GRID = ReportedGrid(
    monotonic_s=1000.0,
    wall_time_s=1_767_225_600.0,
    phases=(
        ReportedPhase(current_a=70.123, voltage_v=231.2, power_w=15800.0),
        ReportedPhase(current_a=3.0, voltage_v=229.0, power_w=-500.0),
        ReportedPhase(current_a=0.25, voltage_v=230.4, power_w=20.0),
    ),
    frequency_hz=49.98,
    import_energy_kwh=1234.5,
    export_energy_kwh=67.24,
)


class LoopThread:
    """An asyncio loop in a daemon thread; `run(coro)` executes a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@dataclass
class Served:
    """A running meter server and what it serves."""

    endpoint: MeterEndpoint
    server: MeterTcpServer | MeterSerialServer
    port: int = 0  # TCP
    client_path: str = ""  # RTU: the other end of the cable
    grid: list[ReportedGrid | None] = field(default_factory=lambda: [FIXED_GRID])


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


def start_tcp(
    loop_thread: LoopThread, map_name: str = "emu_professional", offset: int = 0
) -> Served:
    grid: list[ReportedGrid | None] = [FIXED_GRID]
    endpoint = MeterEndpoint(
        register_map(map_name),
        lambda: grid[0],
        RequestLog(SystemClock()),
        "tcp",
        address_offset=offset,
    )

    async def start() -> MeterTcpServer:
        server = MeterTcpServer(endpoint, "127.0.0.1", 0)
        await server.serve_forever(background=True)
        return server

    server = loop_thread.run(start())
    return Served(endpoint, server, port=server.bound_port, grid=grid)


def stop(loop_thread: LoopThread, served: Served) -> None:
    loop_thread.run(served.server.shutdown())  # type: ignore[no-untyped-call]


@dataclass
class SocatCable:
    """Two linked ptys made by socat (an RS485 line between a master and us)."""

    device: str
    client: str
    process: subprocess.Popen[bytes]


@pytest.fixture
def socat_cable(tmp_path: Path) -> Iterator[SocatCable]:
    if shutil.which("socat") is None:
        pytest.fail("socat is not installed (see .ci/apt-packages)")
    device, client = tmp_path / "device", tmp_path / "client"
    process = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={device}", f"pty,raw,echo=0,link={client}"],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not (device.exists() and client.exists()):
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("socat did not create its ptys")
        time.sleep(0.01)
    yield SocatCable(str(device), str(client), process)
    process.terminate()
    process.wait(5)


def start_rtu(
    loop_thread: LoopThread,
    cable: SocatCable,
    map_name: str = "emu_professional",
    unit: int = 1,
    baudrate: int = 38400,
) -> Served:
    grid: list[ReportedGrid | None] = [FIXED_GRID]
    endpoint = MeterEndpoint(
        register_map(map_name),
        lambda: grid[0],
        RequestLog(SystemClock()),
        "rtu",
        unit=unit,
        peer_name=cable.device,
    )

    async def start() -> MeterSerialServer:
        server = MeterSerialServer(endpoint, cable.device, baudrate, "N", 1)
        await server.serve_forever(background=True)
        await asyncio.sleep(0.05)  # the serial transport opens on the next loop turns
        return server

    server = loop_thread.run(start())
    return Served(endpoint, server, client_path=cable.client, grid=grid)
