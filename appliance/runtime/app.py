"""The composition root: one process, one asyncio loop, every part supervised.

A part that fails is restarted with backoff. An essential part (measurement, control, Modbus)
that keeps failing stops the process, so that systemd restarts it and, as the last resort of the
unit's start limit, reboots the device. The other parts never take the meter down with them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory
from pydantic import ValidationError

from appliance.clock import Clock, SystemClock
from appliance.errors import ConfigurationError
from appliance.identity import load_identity
from appliance.runtime.acquisition import SCENARIO_SERVICE, SPEED_SERVICE, run_acquisition
from appliance.runtime.context import Hub, RuntimeContext, SettingsHolder
from appliance.runtime.control import run_control
from appliance.runtime.history import run_history
from appliance.runtime.leds import run_leds
from appliance.runtime.modbus import run_modbus
from appliance.runtime.mqtt import run_mqtt
from appliance.runtime.notify import run_notify
from appliance.runtime.p1_input import run_p1_input
from appliance.runtime.p1_output import run_p1_output
from appliance.runtime.panel import run_panel
from appliance.runtime.sim_ev import run_simulated_ev
from appliance.runtime.supervisor import RestartPolicy, supervise
from appliance.runtime.update import run_update_service
from appliance.runtime.web import WEB_PORT_SERVICE, install_network_services, run_web
from appliance.settings import SettingsStore
from appliance.sim.scenario import load_scenario
from drivers.pinmap import load_pinmap

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
DEVICE_NUMBER_FILE = "device-number"

PartRunner = Callable[[RuntimeContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PartSpec:
    name: str
    run: PartRunner
    essential: bool  # its persistent failure stops the process (systemd takes over)


# Start order matters only for readability: every part waits for what it needs.
PARTS: tuple[PartSpec, ...] = (
    PartSpec("acquisition", run_acquisition, essential=True),
    PartSpec("p1-input", run_p1_input, essential=True),
    PartSpec("control", run_control, essential=True),
    PartSpec("modbus", run_modbus, essential=True),
    PartSpec("p1-output", run_p1_output, essential=True),
    PartSpec("leds", run_leds, essential=False),
    PartSpec("panel", run_panel, essential=False),
    PartSpec("update", run_update_service, essential=False),
    PartSpec("web", run_web, essential=False),
    PartSpec("mqtt", run_mqtt, essential=False),
    PartSpec("history", run_history, essential=False),
    PartSpec("simulated-ev", run_simulated_ev, essential=False),
    PartSpec("systemd", run_notify, essential=True),
)


@dataclass(frozen=True)
class RunOptions:
    state_dir: Path
    simulate: bool = False
    scenario: Path | None = None
    speed: float = 1.0
    web_port: int | None = None  # None: 80 on the device, 8080 in simulation; 0: any free port
    extra_services: dict[str, Any] = field(default_factory=dict)


def build_context(options: RunOptions, clock: Clock | None = None) -> RuntimeContext:
    """Everything is read and validated here, before any hardware is touched."""
    store = SettingsStore(options.state_dir / SETTINGS_FILE)
    settings = store.load()  # SettingsError: a clear message, the file left alone
    pin_factory: Any = None  # gpiozero's default factory on a Pi
    scenario = None
    if options.simulate:
        if options.scenario is None:
            raise ConfigurationError("simulation needs a scenario file")
        pin_factory = MockFactory()
        scenario = load_scenario(options.scenario)
        try:
            settings = scenario.apply_to(settings)  # the scenario's grid: phases, network
        except ValidationError as exc:
            raise ConfigurationError(
                f"scenario {options.scenario} does not fit the settings: {exc.errors()[0]['msg']}"
            ) from exc
    ctx = RuntimeContext(
        settings=SettingsHolder(store, settings),
        hub=Hub(),
        clock=clock or SystemClock(),
        identity=load_identity(options.state_dir / DEVICE_NUMBER_FILE),
        pinmap=load_pinmap(),
        pin_factory=pin_factory,
        state_dir=options.state_dir,
        simulate=options.simulate,
    )
    if scenario is not None:
        ctx.services[SCENARIO_SERVICE] = scenario
        ctx.services[SPEED_SERVICE] = options.speed
    if options.web_port is not None:
        ctx.services[WEB_PORT_SERVICE] = options.web_port
    ctx.services.update(options.extra_services)
    return ctx


ESSENTIAL_POLICY = RestartPolicy()
# Non-essential parts retry forever at the slowest pace instead of escalating.
OPTIONAL_POLICY = RestartPolicy(max_failures=10**9)


async def run_appliance(ctx: RuntimeContext, parts: Sequence[PartSpec] = PARTS) -> None:
    """Run every part until one essential part gives up (raises) or the task is cancelled."""
    install_network_services(ctx)  # the panel finds the commissioning service from the start
    async with asyncio.TaskGroup() as group:
        for spec in parts:
            policy = ESSENTIAL_POLICY if spec.essential else OPTIONAL_POLICY
            runner = _bind(spec.run, ctx)
            group.create_task(supervise(spec.name, runner, ctx.clock, policy), name=spec.name)
        log.info(
            "appliance running (device %s%s)",
            ctx.identity.device_number,
            ", simulated hardware" if ctx.simulate else "",
        )


def _bind(run: PartRunner, ctx: RuntimeContext) -> Callable[[], Awaitable[None]]:
    def start() -> Awaitable[None]:
        return run(ctx)

    return start
