"""MQTT to a broker on the home network: state every second, the mode as a command topic, and
Home Assistant discovery. A broker outage only delays this task: metering, control and Modbus
never wait for it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiomqtt

from appliance.remote.homeassistant import (
    Topics,
    discovery_messages,
    parse_mode_command,
    state_payload,
)
from appliance.runtime.context import RuntimeContext
from appliance.runtime.settings_watch import run_restarting_on_change
from appliance.settings import Settings

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """What the connection depends on; a change restarts it."""

    host: str
    port: int
    username: str
    password: str
    prefix: str
    phases: int
    max_charge_current_a: int

    @staticmethod
    def from_settings(settings: Settings) -> MqttTarget:
        remote = settings.remote
        return MqttTarget(
            remote.mqtt_host,
            remote.mqtt_port,
            remote.mqtt_username,
            remote.mqtt_password,
            remote.mqtt_prefix,
            settings.grid.phases,
            settings.grid.max_charge_current_a,
        )


async def run_mqtt(ctx: RuntimeContext) -> None:
    async def connect(ctx: RuntimeContext) -> None:
        target = MqttTarget.from_settings(ctx.settings.current)
        if target.host:
            await MqttBridge(ctx, target).run()
        else:
            await asyncio.Event().wait()  # MQTT not configured: nothing to do until it is

    await run_restarting_on_change(ctx, MqttTarget.from_settings, connect)


class MqttBridge:
    def __init__(
        self,
        ctx: RuntimeContext,
        target: MqttTarget,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ctx = ctx
        self.target = target
        self.topics = Topics.for_device(target.prefix, ctx.identity.device_number)
        self._sleep = sleep
        self.connections = 0  # successful connections so far (reconnects are visible)

    async def run(self) -> None:
        """Stay connected: reconnect with exponential backoff after any broker error."""
        delay = 1.0
        while True:
            try:
                await self._session()
            except* aiomqtt.MqttError as errors:  # the session's tasks fail together
                log.warning(
                    "MQTT %s:%d: %s; retrying in %.0f s",
                    self.target.host,
                    self.target.port,
                    errors.exceptions[0],
                    delay,
                )
                await self._sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
            else:
                delay = 1.0

    async def _session(self) -> None:
        will = aiomqtt.Will(self.topics.availability, "offline", qos=1, retain=True)
        async with aiomqtt.Client(
            self.target.host,
            self.target.port,
            username=self.target.username or None,
            password=self.target.password or None,
            identifier=f"scc-{self.ctx.identity.device_number}",
            will=will,
            timeout=10,
        ) as client:
            self.connections += 1
            for topic, payload in discovery_messages(
                self.topics,
                self.ctx.identity.device_number,
                self.target.phases,
                self.target.max_charge_current_a,
            ):
                await client.publish(topic, payload, qos=1, retain=True)
            await client.subscribe(self.topics.mode_command, qos=1)
            await client.publish(self.topics.availability, "online", qos=1, retain=True)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._publish_states(client))
                group.create_task(self._publish_mode(client))
                group.create_task(self._handle_commands(client))

    async def _publish_states(self, client: aiomqtt.Client) -> None:
        hub = self.ctx.hub
        async for reading in hub.readings.updates():
            payload = state_payload(reading, hub.reported.latest)
            await client.publish(self.topics.state, json.dumps(payload), qos=0)

    async def _publish_mode(self, client: aiomqtt.Client) -> None:
        last = None
        async for settings in self.ctx.settings.changes.updates():
            mode = settings.control.charge_mode
            if mode != last:
                await client.publish(self.topics.mode, mode.label, qos=1, retain=True)
                last = mode

    async def _handle_commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            current = self.ctx.settings.current
            try:
                mode = parse_mode_command(
                    payload, current.grid.phases, current.grid.max_charge_current_a
                )
            except ValueError as exc:  # includes undecodable bytes
                log.warning("MQTT mode command %r refused: %s", payload[:64], exc)
                # Put the select back to the mode in force.
                await client.publish(
                    self.topics.mode, current.control.charge_mode.label, qos=1, retain=True
                )
                continue
            if mode != current.control.charge_mode:
                self.ctx.settings.update(current.with_mode(mode))
