"""Runs the emulated grid meter: Modbus TCP and RTU servers, the request log and its socket.

Settings `meter.*` take effect at once: when they change, the servers stop and start again on
the new address, port, serial line, unit or map. A server that cannot start (address not yet on
the interface, serial port missing) is retried; the other keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ConfigurationError
from appliance.grid import ReportedGrid
from appliance.modbus.log import RequestLog
from appliance.modbus.maps import register_map
from appliance.modbus.registers import RegisterMap
from appliance.modbus.server import MeterEndpoint, MeterSerialServer, MeterTcpServer
from appliance.runtime.context import RuntimeContext
from appliance.settings import MeterSettings
from drivers.pty_pair import PtyPair

_log = logging.getLogger(__name__)

MeterServer = MeterTcpServer | MeterSerialServer

LOG_SOCKET_NAME = "modbus-log.sock"
DEFAULT_MAP = "emu_professional"
# The controller publishes once a second, its fail-safe included; a report older than this
# means the producer itself stopped, and the meter reports the startup overload instead.
REPORT_STALE_S = 15.0
RETRY_S = 5.0
SIMULATION_HOST = "127.0.0.1"
SIMULATION_PORT_SHIFT = 15000  # privileged ports move up in simulation: 502 -> 15502


@dataclass
class ModbusStatus:
    """Where the meter is served right now (ctx.services["modbus"]), for people and tests."""

    map_name: str = ""
    tcp_host: str = ""
    tcp_port: int = 0
    tcp_listening: bool = False
    rtu_port: str = ""
    rtu_peer_path: str = ""  # simulation: the pty end a Modbus master (mbpoll) opens
    rtu_listening: bool = False
    error: str = ""
    applied: MeterSettings | None = None  # the settings the servers above were started with


def log_socket_path(state_dir: Path) -> Path:
    return state_dir / LOG_SOCKET_NAME


async def run_modbus(ctx: RuntimeContext) -> None:
    """Serve the selected meter map on TCP and RTU until cancelled."""
    logging.getLogger("pymodbus").setLevel(logging.ERROR)  # one line per garbage frame is noise
    request_log = RequestLog(ctx.clock)
    status = ModbusStatus()
    ctx.services["modbus_log"] = request_log
    ctx.services["modbus"] = status
    # Simulation: one virtual RS485 cable for the whole run, so its path survives restarts.
    line = PtyPair() if ctx.simulate else None
    if line is not None:
        line.open(asyncio.get_running_loop())
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_serve_log_socket(log_socket_path(ctx.state_dir), request_log))
            group.create_task(_follow_settings(ctx, request_log, status, line))
    finally:
        if line is not None:
            line.close()


async def _follow_settings(
    ctx: RuntimeContext, request_log: RequestLog, status: ModbusStatus, line: PtyPair | None
) -> None:
    servers: _Servers | None = None
    try:
        async for settings in ctx.settings.changes.updates():
            if settings.meter == status.applied:
                continue
            if servers is not None:
                await servers.stop()
            servers = _Servers(ctx, settings.meter, request_log, status, line)
            await servers.start()
    finally:
        if servers is not None:
            await servers.stop()


def resolve_map(name: str) -> tuple[RegisterMap, str]:
    """The map for `settings.meter.emulate`; an unknown name serves the default map (a meter
    that goes silent makes some chargers charge at full current) and says why."""
    try:
        return register_map(name), ""
    except ConfigurationError as exc:
        return register_map(DEFAULT_MAP), f"{exc}; serving {DEFAULT_MAP}"


class _Servers:
    """The TCP and RTU servers for one set of meter settings."""

    def __init__(
        self,
        ctx: RuntimeContext,
        meter: MeterSettings,
        request_log: RequestLog,
        status: ModbusStatus,
        line: PtyPair | None,
    ) -> None:
        self._ctx = ctx
        self._meter = meter
        self._log = request_log
        self._status = status
        self._tasks: list[asyncio.Task[None]] = []
        self._line = line
        self._map, error = resolve_map(meter.emulate)
        if error:
            _log.error("meter settings: %s", error)
        status.map_name = self._map.name
        status.error = error
        status.applied = meter

    def _reported(self) -> ReportedGrid | None:
        latest = self._ctx.hub.reported.latest
        if latest is None or self._ctx.clock.monotonic() - latest.monotonic_s > REPORT_STALE_S:
            return None
        return latest

    def _endpoint(self, transport: str, unit: int | None, peer_name: str) -> MeterEndpoint:
        return MeterEndpoint(
            register_map=self._map,
            source=self._reported,
            log=self._log,
            transport="tcp" if transport == "tcp" else "rtu",
            address_offset=self._meter.address_offset,
            unit=unit,
            peer_name=peer_name,
        )

    async def start(self) -> None:
        meter, status = self._meter, self._status
        host, port = str(meter.ip_address), meter.modbus_port
        if self._ctx.simulate:
            host = SIMULATION_HOST
            port = port if port >= 1024 else port + SIMULATION_PORT_SHIFT
        status.tcp_host, status.tcp_port = host, port
        self._tasks.append(asyncio.create_task(self._keep_tcp(host, port)))
        if not meter.rtu_enabled:
            status.rtu_port = status.rtu_peer_path = ""
            return
        serial_port = meter.rtu_port
        if self._line is not None:
            serial_port = self._line.device_path
            status.rtu_peer_path = self._line.peer_path
            _log.warning(
                "simulated RS485 line: point a Modbus RTU master at %s (unit %d, %d baud)",
                self._line.peer_path,
                meter.rtu_unit,
                meter.rtu_baudrate,
            )
        status.rtu_port = serial_port
        self._tasks.append(asyncio.create_task(self._keep_rtu(serial_port)))

    async def _keep_tcp(self, host: str, port: int) -> None:
        async def make() -> MeterTcpServer:
            return MeterTcpServer(self._endpoint("tcp", None, ""), host, port)

        await self._keep_serving(make, f"Modbus TCP on {host}:{port}", "tcp_listening")

    async def _keep_rtu(self, serial_port: str) -> None:
        meter = self._meter

        async def make() -> MeterSerialServer:
            return MeterSerialServer(
                self._endpoint("rtu", meter.rtu_unit, serial_port),
                serial_port,
                meter.rtu_baudrate,
                meter.rtu_parity,
                meter.rtu_stopbits,
            )

        await self._keep_serving(make, f"Modbus RTU on {serial_port}", "rtu_listening")

    async def _keep_serving(
        self, make: Callable[[], Awaitable[MeterServer]], what: str, flag: str
    ) -> None:
        """Start a server, retrying while it cannot listen; stop it when cancelled."""
        server: MeterServer | None = None
        try:
            while True:
                server = await make()
                try:
                    await server.serve_forever(background=True)
                except RuntimeError as exc:  # pymodbus: could not listen (address, port)
                    await server.shutdown()  # type: ignore[no-untyped-call]
                    server = None
                    self._status.error = f"{what}: {exc}"
                    _log.error("%s cannot start (%s); retrying in %.0f s", what, exc, RETRY_S)
                    await asyncio.sleep(RETRY_S)
                    continue
                setattr(self._status, flag, True)
                _log.info("%s serving %s", what, self._map.title)
                await asyncio.Event().wait()  # serve until cancelled
        finally:
            setattr(self._status, flag, False)
            if server is not None:
                await server.shutdown()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


async def _serve_log_socket(path: Path, request_log: RequestLog) -> None:
    """Answer every connection on a Unix socket with the log as JSON, then close it.

    A socket (not a file) so the SD card sees no writes; `scc modbus-log` is the client.
    """

    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(json.dumps(request_log.snapshot()).encode())
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    _clear_socket_path(path)
    server = await asyncio.start_unix_server(answer, path=str(path))
    try:
        path.chmod(0o660)  # noqa: ASYNC240 (one local inode change)
        async with server:
            await server.serve_forever()
    finally:
        _clear_socket_path(path)


def _clear_socket_path(path: Path) -> None:
    """Remove a socket left over from a previous run (the directory must exist)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
