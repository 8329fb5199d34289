"""End to end: the controller's report served by the real Modbus TCP server, read by uModbus as a
charger's firmware would, closing the loop through a simulated EV."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from umodbus.client import tcp as umodbus_tcp

from appliance.clock import SystemClock
from appliance.control import ControlPhase, ControlTuning
from appliance.grid import ReportedGrid
from appliance.modbus.log import RequestLog
from appliance.modbus.maps import register_map
from appliance.modbus.server import MeterEndpoint, MeterTcpServer
from appliance.modes import ECO_PLUS
from appliance.sim.day import build_reading
from tests.control.harness import Loop, make_settings


class ServerThread:
    """The meter server in its own asyncio loop, so the blocking client can run in the test."""

    def __init__(self, source: list[ReportedGrid | None]) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        endpoint = MeterEndpoint(
            register_map("emu_professional"), lambda: source[0], RequestLog(SystemClock()), "tcp"
        )

        async def start() -> MeterTcpServer:
            server = MeterTcpServer(endpoint, "127.0.0.1", 0)
            await server.serve_forever(background=True)
            return server

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.port = self.server.bound_port

    def close(self) -> None:
        shutdown = self.server.shutdown()  # type: ignore[no-untyped-call]
        asyncio.run_coroutine_threadsafe(shutdown, self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def served() -> Iterator[tuple[ServerThread, list[ReportedGrid | None]]]:
    source: list[ReportedGrid | None] = [None]
    server = ServerThread(source)
    yield server, source
    server.close()


def read_currents(sock: socket.socket) -> tuple[float, float, float]:
    """FC03 at 4591, 6 words: three uint32 mA, high word first (EMU Professional)."""
    request = umodbus_tcp.read_holding_registers(slave_id=1, starting_address=4591, quantity=6)
    words = umodbus_tcp.send_message(request, sock)
    values = [((words[i] << 16) | words[i + 1]) / 1000.0 for i in (0, 2, 4)]
    return (values[0], values[1], values[2])


def test_charger_reading_our_server_settles_at_the_eco_plus_target(
    served: tuple[ServerThread, list[ReportedGrid | None]],
) -> None:
    server, source = served
    tuning = ControlTuning(start_delay_s=60.0)  # a shorter start keeps the socket loop short
    loop = Loop(make_settings(mode="eco+"), ECO_PLUS, tuning=tuning, pv_w=6000.0)
    limit = float(loop.settings.grid.max_charge_current_a)
    minimum = float(loop.settings.grid.min_charge_current_a)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        # Before the first report the server answers the startup overload: chargers pause.
        assert min(read_currents(sock)) >= 2 * limit
        offer: float | None = None
        for _ in range(150):
            now, wall = loop.clock.monotonic(), loop.clock.time()
            reading = build_reading(loop.grid_powers(), 230.0, 3, now, wall)
            report = loop.controller.update(
                reading, loop.settings, loop.mode, now=now, wall_time=wall
            )
            source[0] = report
            currents = read_currents(sock)
            # What went over the wire is the controller's report, to the mA, never below measured.
            for got, sent, measured in zip(currents, report.phases, reading.phases, strict=True):
                assert got == pytest.approx(sent.current_a, abs=0.0011)
                assert got >= measured.current_a - 0.001
            # A subtracting charger: available = limit - reported + own.
            own = loop.ev.per_phase()
            available = min(limit - currents[p] + own[p] for p in range(3))
            offer = available if available >= minimum else None
            loop.ev.step(offer)
            loop.clock.advance(1.0)
    assert loop.controller.status.phase is ControlPhase.CHARGING
    assert offer is not None
    assert offer >= minimum
    assert -tuning.eco_plus_export_margin_w - 300.0 <= loop.net_w() <= 0.0
