"""Runs the charge controller: one `ReportedGrid` per reading, and at least one per second.

The task wakes on every new reading and on a 1 s tick, so a source that falls silent still ends
in the fail-safe within the stale limit. The mode is read from the settings at every step, so a
change from the buttons, the web pages or the API takes effect on the next second. The
controller's status is published as `ctx.services["control"]`.

The quarter-hour state (CAPACITY budget) is written to the state directory once a minute and at
shutdown (a few dozen bytes, atomically), so a restart mid-quarter continues the same budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

from appliance.atomic import write_atomic
from appliance.control import Controller, ControlStatus, QuarterState
from appliance.grid import ReportedGrid
from appliance.runtime.context import RuntimeContext

SERVICE_NAME = "control"
STATE_FILE = "control-quarter.json"
PERSIST_EVERY_S = 60.0
TICK_S = 1.0

log = logging.getLogger(__name__)


class ControlService:
    """The controller's newest status and report, for screens, the dashboard and the API."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._status = controller.status
        self._reported: ReportedGrid | None = None

    def status(self) -> ControlStatus:
        return self._status

    def reported(self) -> ReportedGrid | None:
        return self._reported

    def publish(self, status: ControlStatus, reported: ReportedGrid) -> None:
        self._status = status
        self._reported = reported


def load_quarter_state(path: Path) -> QuarterState | None:
    """The saved quarter, or None (missing or unreadable: the quarter is then rebuilt)."""
    try:
        return QuarterState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable quarter state %s: %s", path, exc)
        return None


def save_quarter_state(path: Path, state: QuarterState) -> None:
    write_atomic(path, json.dumps(state.to_json()).encode())


async def run_control(ctx: RuntimeContext, tick_s: float = TICK_S) -> None:
    path = ctx.state_dir / STATE_FILE
    controller = Controller(quarter_state=await asyncio.to_thread(load_quarter_state, path))
    service = ControlService(controller)
    ctx.services[SERVICE_NAME] = service
    last_saved = ctx.clock.monotonic()

    async def persist() -> None:
        state = controller.quarter_state
        if state is not None:
            try:
                await asyncio.to_thread(save_quarter_state, path, state)
            except OSError as exc:  # a full or read-only disk must not stop the control
                log.warning("cannot save quarter state %s: %s", path, exc)

    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.hub.readings.next(), timeout=tick_s)
            settings = ctx.settings.current
            now = ctx.clock.monotonic()
            report = controller.update(
                ctx.hub.readings.latest,
                settings,
                settings.control.charge_mode,
                now=now,
                wall_time=ctx.clock.time(),
            )
            ctx.hub.reported.publish(report)
            service.publish(controller.status, report)
            if now - last_saved >= PERSIST_EVERY_S:
                last_saved = now
                await persist()
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(persist())
