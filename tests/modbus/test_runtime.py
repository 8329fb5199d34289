"""run_modbus in the simulated appliance: settings take effect at once, the pty RS485 line,
the request log over its socket, the fail-safe for missing or stale reports."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import minimalmodbus
import pytest
from umodbus import exceptions as umodbus_errors
from umodbus.client import tcp as umodbus_tcp

from appliance.cli import main as scc_main
from appliance.clock import FakeClock
from appliance.identity import DeviceIdentity
from appliance.runtime import modbus as modbus_runtime
from appliance.runtime.context import Hub, RuntimeContext, SettingsHolder
from appliance.runtime.modbus import REPORT_STALE_S, ModbusStatus, log_socket_path, run_modbus
from appliance.settings import Settings, SettingsStore
from drivers.pinmap import load_pinmap
from tests.modbus.conftest import FIXED_GRID

CURRENT_L1 = [1, 70123 & 0xFFFF]
OVERLOAD = [1, 100_000 & 0xFFFF]  # 100 A in mA


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_with(base: Settings, **meter: object) -> Settings:
    return base.with_section("meter", base.meter.model_copy(update=meter))


@pytest.fixture
def ctx(state_dir: Path, clock: FakeClock) -> RuntimeContext:
    settings = settings_with(Settings(), modbus_port=free_port(), rtu_baudrate=19200)
    return RuntimeContext(
        settings=SettingsHolder(SettingsStore(state_dir / "settings.json"), settings),
        hub=Hub(),
        clock=clock,
        identity=DeviceIdentity("0000008879"),
        pinmap=load_pinmap(),
        pin_factory=None,
        state_dir=state_dir,
        simulate=True,
    )


@pytest.fixture
async def running(ctx: RuntimeContext) -> AsyncIterator[ModbusStatus]:
    task = asyncio.create_task(run_modbus(ctx))
    status = await _serving(ctx)
    try:
        yield status
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _serving(ctx: RuntimeContext) -> ModbusStatus:
    """Wait (I/O readiness, bounded) until both servers listen with the current settings."""
    for _ in range(500):
        status = ctx.services.get("modbus")
        if (
            isinstance(status, ModbusStatus)
            and status.applied == ctx.settings.current.meter
            and status.tcp_listening
            and status.rtu_listening
        ):
            return status
        await asyncio.sleep(0.01)
    raise AssertionError(f"servers not up: {ctx.services.get('modbus')}")


def _read_tcp(port: int, address: int = 4591, count: int = 2, function: int = 4) -> list[int]:
    make = umodbus_tcp.read_input_registers if function == 4 else umodbus_tcp.read_holding_registers
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        return list(umodbus_tcp.send_message(make(1, address, count), sock))


async def read_tcp(port: int, address: int = 4591, count: int = 2, function: int = 4) -> list[int]:
    return await asyncio.to_thread(_read_tcp, port, address, count, function)


async def test_tcp_serves_the_newest_report_and_follows_settings(
    ctx: RuntimeContext, running: ModbusStatus
) -> None:
    port = running.tcp_port
    assert running.tcp_host == "127.0.0.1"
    assert port == ctx.settings.current.meter.modbus_port  # already above 1023
    assert await read_tcp(port) == OVERLOAD  # nothing published yet: startup overload
    ctx.hub.reported.publish(FIXED_GRID)
    assert await read_tcp(port) == CURRENT_L1

    new_port = free_port()
    ctx.settings.update(settings_with(ctx.settings.current, modbus_port=new_port))
    await _serving(ctx)
    assert await read_tcp(new_port) == CURRENT_L1
    with pytest.raises(ConnectionRefusedError):
        await read_tcp(port)

    ctx.settings.update(settings_with(ctx.settings.current, address_offset=-1))
    await _serving(ctx)
    assert await read_tcp(new_port, 4590) == CURRENT_L1

    ctx.settings.update(
        settings_with(ctx.settings.current, emulate="eastron_sdm630", address_offset=0)
    )
    status = await _serving(ctx)
    assert status.map_name == "eastron_sdm630"
    words = await read_tcp(new_port, 6, 2)  # float32 70.123 A
    assert words == [0x428C, 0x3EFA]


async def test_stale_reports_fall_back_to_the_overload(
    ctx: RuntimeContext, running: ModbusStatus, clock: FakeClock
) -> None:
    ctx.hub.reported.publish(FIXED_GRID)
    assert await read_tcp(running.tcp_port) == CURRENT_L1
    clock.advance(REPORT_STALE_S + 0.5)  # the controller stopped publishing
    assert await read_tcp(running.tcp_port) == OVERLOAD
    ctx.hub.reported.publish(replace(FIXED_GRID, monotonic_s=clock.monotonic()))
    assert await read_tcp(running.tcp_port) == CURRENT_L1


async def test_unknown_map_serves_the_default_and_says_why(ctx: RuntimeContext) -> None:
    ctx.settings.update(settings_with(ctx.settings.current, emulate="no_such_meter"))
    task = asyncio.create_task(run_modbus(ctx))
    try:
        status = await _serving(ctx)
        assert status.map_name == "emu_professional"
        assert "no_such_meter" in status.error
        assert await read_tcp(status.tcp_port, 4591, 2, 3) == OVERLOAD
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _read_rtu(path: str, unit: int, timeout: float = 1.0) -> list[int]:
    device = minimalmodbus.Instrument(path, unit, close_port_after_each_call=False)
    device.serial.baudrate = 19200
    device.serial.timeout = timeout
    try:
        return list(device.read_registers(4591, 2, functioncode=3))
    finally:
        device.serial.close()


async def test_rtu_over_the_simulated_line(ctx: RuntimeContext, running: ModbusStatus) -> None:
    ctx.hub.reported.publish(FIXED_GRID)
    assert running.rtu_peer_path.startswith("/dev/pts/")
    assert await asyncio.to_thread(_read_rtu, running.rtu_peer_path, 1) == CURRENT_L1
    with pytest.raises(minimalmodbus.NoResponseError):
        await asyncio.to_thread(_read_rtu, running.rtu_peer_path, 5, 0.2)
    ctx.settings.update(settings_with(ctx.settings.current, rtu_unit=5))
    status = await _serving(ctx)
    assert status.rtu_peer_path == running.rtu_peer_path  # the same cable after a restart
    assert await asyncio.to_thread(_read_rtu, status.rtu_peer_path, 5) == CURRENT_L1


async def test_scc_modbus_log_shows_the_requests(
    ctx: RuntimeContext, running: ModbusStatus, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx.hub.reported.publish(FIXED_GRID)
    await read_tcp(running.tcp_port, 4591, 2)
    await read_tcp(running.tcp_port, 4590, 2, 3)  # a charger counting from 1
    with pytest.raises(umodbus_errors.IllegalDataAddressError):
        await read_tcp(running.tcp_port, 4000, 2)
    assert log_socket_path(ctx.state_dir).exists()
    argv = ["modbus-log", "--state-dir", str(ctx.state_dir)]
    assert await asyncio.to_thread(scc_main, argv) == 0
    out = capsys.readouterr().out
    assert "4591" in out
    assert "exception 02" in out
    assert "set address offset -1" in out
    assert "3 requests" in out


def test_scc_modbus_log_without_a_running_appliance(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scc_main(["modbus-log", "--state-dir", str(state_dir)]) == 2
    assert "is the appliance running?" in capsys.readouterr().err


async def test_a_busy_port_is_retried_until_free(
    ctx: RuntimeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(modbus_runtime, "RETRY_S", 0.05)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", ctx.settings.current.meter.modbus_port))
    blocker.listen()
    task = asyncio.create_task(run_modbus(ctx))
    try:
        for _ in range(500):
            status = ctx.services.get("modbus")
            if isinstance(status, ModbusStatus) and "Modbus TCP" in status.error:
                break
            await asyncio.sleep(0.01)
        assert isinstance(status, ModbusStatus)
        assert not status.tcp_listening
        assert status.rtu_listening  # the other server is not held up
        blocker.close()
        ctx.hub.reported.publish(FIXED_GRID)
        status = await _serving(ctx)
        assert await read_tcp(status.tcp_port) == CURRENT_L1
    finally:
        blocker.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
