"""The runtime part for firmware update and factory reset.

Registers `ctx.services["update"]` (FirmwareUpdateService) and `ctx.services["factory_reset"]`
(FactoryResetService) for the front panel and the web pages. At start-up, when this process
runs a release that an update switched to, it proves itself: a fresh reading within the
deadline (the same condition as READY=1) plus a self-test, then the update is confirmed;
otherwise it rolls back to the previous release and asks systemd for a restart.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from appliance.atomic import write_atomic
from appliance.errors import ApplianceError
from appliance.runtime.context import RuntimeContext
from appliance.runtime.notify import is_fresh
from appliance.settings import SettingsStore
from appliance.update import releases
from appliance.update.bundle import load_public_keys
from appliance.update.factory_reset import DeviceFactoryReset
from appliance.update.install import Installer, VenvBuilder
from appliance.update.releases import Layout
from appliance.update.service import DeviceUpdateService, ServiceControl, SystemctlControl

log = logging.getLogger(__name__)

HEALTH_DEADLINE_S = 120.0
GUARD_PROGRAM = "bin/scc-guard"  # under Layout.app_dir; the unit's first ExecStartPre


def running_release(layout: Layout, prefix: Path | None = None) -> str | None:
    """The release directory this interpreter runs from (releases/<version>/venv), if any."""
    venv = (prefix or Path(sys.prefix)).resolve()
    if venv.name == "venv" and venv.parent.parent == layout.releases.resolve():
        return venv.parent.name
    return None


def self_test(ctx: RuntimeContext, layout: Layout) -> list[str]:
    """What a new release must be able to do besides measuring: read its settings and keys."""
    problems = []
    try:
        SettingsStore(ctx.settings.store.path).load()
    except ApplianceError as exc:
        problems.append(str(exc))
    try:
        if not load_public_keys(layout.trusted_keys):
            problems.append("no trusted update key: the next update could not be verified")
    except ApplianceError as exc:
        problems.append(str(exc))
    return problems


async def wait_for_fresh_reading(ctx: RuntimeContext, deadline_s: float) -> list[str]:
    try:
        async with asyncio.timeout(deadline_s):
            async for reading in ctx.hub.readings.updates():
                if is_fresh(reading, ctx.clock.monotonic()):
                    return []
    except TimeoutError:
        pass
    return [f"no fresh reading within {deadline_s:.0f} s"]


def refresh_guard(layout: Layout) -> None:
    """Install this release's boot guard: it runs before every start, with the system Python."""
    source = Path(releases.__file__).read_bytes()
    target = layout.app_dir / GUARD_PROGRAM
    write_atomic(target, source)
    target.chmod(0o755)


def device_layout(ctx: RuntimeContext) -> Layout:
    # In simulation the "device" lives under the state directory: no release is installed
    # there, so an update says the running copy is not managed instead of touching /opt.
    return Layout(ctx.state_dir / "device") if ctx.simulate else Layout()


async def run_update_service(
    ctx: RuntimeContext,
    *,
    layout: Layout | None = None,
    control: ServiceControl | None = None,
    health_deadline_s: float = HEALTH_DEADLINE_S,
) -> None:
    layout = layout or device_layout(ctx)
    control = control or SystemctlControl()
    installer = Installer(layout, VenvBuilder())
    service = DeviceUpdateService(
        layout, lambda: ctx.settings.current.update.url, installer, control
    )
    ctx.services["update"] = service
    ctx.services["factory_reset"] = DeviceFactoryReset(
        # The web part publishes the NetworkManager interface; look it up when a reset runs.
        ctx.settings,
        ctx.state_dir,
        control,
        lambda: ctx.services.get("network"),
    )

    async def health() -> list[str]:
        return await asyncio.to_thread(self_test, ctx, layout) + await wait_for_fresh_reading(
            ctx, health_deadline_s
        )

    progress = await service.confirm_pending(
        running_release(layout), health, lambda: refresh_guard(layout)
    )
    if progress.message:
        log.info("firmware update: %s", progress.message)
    await asyncio.Event().wait()  # the services stay registered until the appliance stops
