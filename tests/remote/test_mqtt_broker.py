"""Against a real broker (Debian's mosquitto) started by the test on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from appliance.grid import GridReading, ReportedGrid
from appliance.modes import ChargeMode
from appliance.runtime.context import RuntimeContext
from appliance.runtime.mqtt import MqttBridge, MqttTarget, run_mqtt
from appliance.settings import SettingsStore
from tests.remote.test_homeassistant import reading


class Broker:
    def __init__(self, directory: Path) -> None:
        executable = shutil.which("mosquitto")
        assert executable, "mosquitto must be installed (.ci/apt-packages)"
        self.executable = executable
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.executable, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.1),
            ):
                return
            subprocess.run(["sleep", "0.02"], check=True)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(5)
            self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@contextlib.asynccontextmanager
async def appliance_mqtt(ctx: RuntimeContext, broker: Broker) -> AsyncIterator[None]:
    settings = ctx.settings.current
    remote = settings.remote.model_copy(update={"mqtt_host": "127.0.0.1", "mqtt_port": broker.port})
    ctx.settings.update(settings.with_section("remote", remote))
    task = asyncio.create_task(run_mqtt(ctx))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_for(client: aiomqtt.Client, topic: str, seconds: float = 10) -> str:
    async with asyncio.timeout(seconds):
        async for message in client.messages:
            if message.topic.matches(topic):
                assert isinstance(message.payload, bytes)
                return message.payload.decode()
    raise AssertionError("unreachable")


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll a condition the bridge changes from its own task (no event to wait on)."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.02)


def publish_reading(ctx: RuntimeContext, measured: GridReading) -> None:
    ctx.hub.reported.publish(ReportedGrid.passthrough(measured))
    ctx.hub.readings.publish(measured)


async def test_discovery_state_and_mode_round_trip(
    runtime_context: RuntimeContext, broker: Broker
) -> None:
    ctx = runtime_context
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as observer,
        appliance_mqtt(ctx, broker),
    ):
        await observer.subscribe("homeassistant/select/#")
        select = json.loads(await wait_for(observer, "homeassistant/select/+/mode/config"))
        assert "CAPACITY 22 kW" in select["options"]

        await observer.subscribe("scc/0000008879/#")
        assert await wait_for(observer, "scc/0000008879/availability") == "online"
        state = None
        for _ in range(50):  # publish until the bridge's subscription has seen one
            publish_reading(ctx, reading(12.5, -3.0, 0.0))
            with contextlib.suppress(TimeoutError):
                state = json.loads(await wait_for(observer, "scc/0000008879/state", seconds=0.2))
                break
        assert state is not None
        assert state["current_l1"] == 12.5
        assert state["current_l2"] == -3.0

        await observer.publish("scc/0000008879/mode/set", "CAPACITY 7 kW", qos=1)
        async with asyncio.timeout(10):
            async for settings in ctx.settings.changes.updates():
                if settings.control.charge_mode == ChargeMode.parse("capacity:7"):
                    break
        assert SettingsStore(ctx.state_dir / "settings.json").load().control.mode == "capacity:7"
        assert await wait_for(observer, "scc/0000008879/mode") in {
            "ECO+ (PV only)",
            "CAPACITY 7 kW",
        }

        await observer.publish("scc/0000008879/mode/set", "TURBO", qos=1)
        assert await wait_for(observer, "scc/0000008879/mode") == "CAPACITY 7 kW"
        assert ctx.settings.current.control.mode == "capacity:7"


async def test_broker_restart_reconnects_and_announces_again(
    runtime_context: RuntimeContext, broker: Broker
) -> None:
    ctx = runtime_context
    sleeps: list[float] = []

    async def short_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0.05)

    bridge = MqttBridge(
        ctx, MqttTarget("127.0.0.1", broker.port, "", "", "scc", 3, 32), short_sleep
    )
    task = asyncio.create_task(bridge.run())
    try:
        async with asyncio.timeout(10):
            await wait_until(lambda: bridge.connections >= 1)
        broker.stop()
        for _ in range(3):
            publish_reading(ctx, reading(1.0, 1.0, 1.0))  # the outage blocks nobody
            await asyncio.sleep(0.05)
        broker.start()
        async with asyncio.timeout(20):
            await wait_until(lambda: bridge.connections >= 2)
        assert sleeps
        assert sleeps[0] == 1.0  # backoff started at one second
        async with aiomqtt.Client("127.0.0.1", broker.port) as observer:
            await observer.subscribe("scc/0000008879/availability")
            assert await wait_for(observer, "scc/0000008879/availability") == "online"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
