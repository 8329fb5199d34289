"""The firmware update as the front panel sees it: start it, watch its progress, see the result.

    check     GET settings.update.url: a JSON index {version, bundle, size, sha256} (unsigned:
              only a hint; what counts is the signed manifest inside the bundle)
    download  the bundle into var/lib/scc/update/downloads, size and SHA-256 as the index says
    verify    signature, compatibility, newer than installed, every file's hash (bundle.py)
    install   new release directory, venv, seal, pending record, symlink switch (install.py)
    restart   systemd restarts the service (through polkit, see systemd/): the new release
              confirms itself with a health check, or is rolled back (`confirm_pending`).

Every refusal leaves the installed release, its settings and `current` untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from packaging.version import InvalidVersion, Version

from appliance.errors import UpdateError
from appliance.services import UpdateProgress, UpdateState
from appliance.update.bundle import BundleRejectedError, load_public_keys, verify_bundle
from appliance.update.install import Installer, installed_version
from appliance.update.releases import (
    Layout,
    UpdateResult,
    clear_pending,
    read_pending,
    read_result,
    roll_back,
    write_result,
)

log = logging.getLogger(__name__)

MAX_BUNDLE_BYTES = 512 * 1024 * 1024
_MAX_INDEX_BYTES = 1 << 20
_CHUNK = 1 << 16
# Share of the progress bar each phase ends at.
_DOWNLOAD_START, _DOWNLOAD_END, _VERIFIED, _INSTALLED = 5, 70, 75, 95
_STEP_PERCENT = {"unpack": 80, "build": 90, "seal": 92, "stage": 93, "switch": 95}


class ServiceControl(Protocol):
    """The privileged operations the unprivileged service may ask for."""

    async def restart(self) -> None: ...

    async def reboot(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SystemctlControl:
    """systemctl over D-Bus; polkit (systemd/polkit/50-scc.rules) allows exactly these calls."""

    unit: str = "scc.service"
    systemctl: str = "systemctl"

    async def restart(self) -> None:
        # --no-block: systemd stops this very process as part of the job.
        await self._run("--no-block", "restart", self.unit)

    async def reboot(self) -> None:
        await self._run("--no-block", "reboot")

    async def _run(self, *args: str) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.systemctl,
                *args,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            _, stderr = await proc.communicate()
        except OSError as exc:
            raise UpdateError(f"cannot run systemctl: {exc}") from exc
        if proc.returncode != 0:
            raise UpdateError(f"systemctl {' '.join(args)} failed: {stderr.decode().strip()}")


@dataclass(frozen=True, slots=True)
class ReleaseIndex:
    version: str
    bundle_url: str
    size: int
    sha256: str

    @classmethod
    def parse(cls, data: bytes, index_url: str) -> ReleaseIndex:
        try:
            doc = json.loads(data)
            index = cls(
                version=str(Version(str(doc["version"]))),
                bundle_url=urljoin(index_url, str(doc["bundle"])),
                size=int(doc["size"]),
                sha256=str(doc["sha256"]).lower(),
            )
        except (ValueError, KeyError, TypeError, InvalidVersion) as exc:
            raise UpdateError(f"the update index at {index_url} is malformed: {exc}") from exc
        if not 0 < index.size <= MAX_BUNDLE_BYTES:
            raise UpdateError(f"the update index announces an implausible size {index.size}")
        return index


HealthCheck = Callable[[], Awaitable[list[str]]]


class DeviceUpdateService:
    """`appliance.services.FirmwareUpdateService` on the device."""

    def __init__(
        self,
        layout: Layout,
        index_url: Callable[[], str],
        installer: Installer,
        control: ServiceControl,
        *,
        trusted_keys: Callable[[], Sequence[Ed25519PublicKey]] | None = None,
        machine: str | None = None,
        python: str | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self.layout = layout
        self._index_url = index_url
        self.installer = installer
        self.control = control
        self._trusted_keys = trusted_keys or (lambda: load_public_keys(layout.trusted_keys))
        self._machine = machine
        self._python = python
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=15, sock_read=60)
        self._progress = UpdateProgress(UpdateState.IDLE, message=_last_result_text(layout))
        self._task: asyncio.Task[UpdateProgress] | None = None

    def progress(self) -> UpdateProgress:
        return self._progress

    async def start(self) -> None:
        """Begin an update in the background; a second start while one runs does nothing."""
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.create_task(self.run(), name="firmware-update")

    async def wait(self) -> UpdateProgress:
        if self._task is not None:
            await self._task
        return self._progress

    async def run(self) -> UpdateProgress:
        """The whole update; ends in UP_TO_DATE, FAILED, or RESTARTING (the new release takes
        over from there). Never raises for a refused or failed update."""
        try:
            await self._run()
        except BundleRejectedError as exc:
            self._report(UpdateState.FAILED, self._progress.percent, f"refused: {exc}")
        except UpdateError as exc:
            self._report(UpdateState.FAILED, self._progress.percent, str(exc))
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._report(UpdateState.FAILED, self._progress.percent, f"download failed: {exc}")
        if self._progress.state is UpdateState.FAILED:
            log.warning("firmware update failed: %s", self._progress.message)
        return self._progress

    async def _run(self) -> None:
        self._report(UpdateState.CHECKING, 0, "checking for updates")
        installed = installed_version(self.layout)
        if installed is None:
            raise UpdateError("the installed release is not managed by the updater")
        url = self._index_url().strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise UpdateError("no update URL configured (settings: update.url)")
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            index = await self._fetch_index(session, url)
            if Version(index.version) <= installed:
                self._report(UpdateState.UP_TO_DATE, 100, f"{installed} is up to date")
                return
            bundle_path = await self._download(session, index)
        try:
            self._report(UpdateState.VERIFYING, _DOWNLOAD_END, f"verifying {index.version}")
            verified = await asyncio.to_thread(
                verify_bundle,
                bundle_path,
                await asyncio.to_thread(self._trusted_keys),
                installed,
                self._machine,
                self._python,
            )
            if verified.manifest.version != index.version:
                announced, actual = index.version, verified.manifest.version
                raise BundleRejectedError(
                    f"the index announced {announced}, the bundle is {actual}"
                )
            self._report(UpdateState.INSTALLING, _VERIFIED, f"installing {index.version}")
            loop = asyncio.get_running_loop()

            def step_done(step: str) -> None:
                loop.call_soon_threadsafe(
                    self._report, UpdateState.INSTALLING, _STEP_PERCENT[step], f"{step} done"
                )

            self.installer.on_step = step_done
            await asyncio.to_thread(self.installer.install, verified)
        finally:
            bundle_path.unlink(missing_ok=True)  # a refused bundle is not kept either
        self._report(UpdateState.RESTARTING, _INSTALLED, f"restarting into {index.version}")
        await self.control.restart()

    async def _fetch_index(self, session: aiohttp.ClientSession, url: str) -> ReleaseIndex:
        async with session.get(url) as response:
            if response.status != 200:
                raise UpdateError(f"update index {url}: HTTP {response.status}")
            data = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > _MAX_INDEX_BYTES:
                    raise UpdateError(f"update index {url} is implausibly large")
            return ReleaseIndex.parse(bytes(data), url)

    async def _download(self, session: aiohttp.ClientSession, index: ReleaseIndex) -> Path:
        name = PurePosixPath(urlsplit(index.bundle_url).path).name or "bundle"
        self.layout.downloads.mkdir(parents=True, exist_ok=True)
        final = self.layout.downloads / f"scc-{index.version}.bundle"
        partial = self.layout.downloads / f".{name}.part"
        digest = hashlib.sha256()
        received = 0
        self._report(UpdateState.DOWNLOADING, _DOWNLOAD_START, f"downloading {index.version}")
        try:
            async with session.get(index.bundle_url) as response:
                if response.status != 200:
                    raise UpdateError(f"bundle {index.bundle_url}: HTTP {response.status}")
                with partial.open("wb") as out:
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        received += len(chunk)
                        if received > index.size:
                            raise UpdateError("the download is larger than the index announced")
                        digest.update(chunk)
                        await asyncio.to_thread(out.write, chunk)
                        span = _DOWNLOAD_END - _DOWNLOAD_START
                        self._report(
                            UpdateState.DOWNLOADING,
                            _DOWNLOAD_START + span * received // index.size,
                            f"downloading {index.version}",
                        )
            if received != index.size:
                raise UpdateError(f"the download is truncated ({received} of {index.size} bytes)")
            if digest.hexdigest() != index.sha256:
                raise UpdateError("the download does not match the index's SHA-256")
            partial.replace(final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return final

    def _report(self, state: UpdateState, percent: int, message: str) -> None:
        self._progress = UpdateProgress(state, max(0, min(100, percent)), message)

    async def confirm_pending(
        self, running: str | None, health: HealthCheck, on_confirmed: Callable[[], None] | None
    ) -> UpdateProgress:
        """At start-up: confirm the release this process runs, or roll it back."""
        self._progress = await confirm_pending(
            self.layout, running, health, self.installer, self.control, on_confirmed=on_confirmed
        )
        return self._progress


def _last_result_text(layout: Layout) -> str:
    result = read_result(layout)
    if result is None:
        return ""
    if result.outcome == "confirmed":
        return f"updated to {result.version}"
    return f"{result.version} rolled back: {result.reason}"


async def confirm_pending(
    layout: Layout,
    running: str | None,
    health: HealthCheck,
    installer: Installer,
    control: ServiceControl,
    *,
    on_confirmed: Callable[[], None] | None = None,
) -> UpdateProgress:
    """In a freshly started process: confirm the release it runs, or roll it back.

    Returns what the front panel shows. Nothing happens without a pending update for `running`.
    """
    pending = read_pending(layout)
    if pending is None or running is None or pending.version != running:
        return UpdateProgress(UpdateState.IDLE, message=_last_result_text(layout))
    problems = await health()
    if problems:
        reason = "; ".join(problems)
        log.error("release %s failed its health check: %s", running, reason)
        await asyncio.to_thread(roll_back, layout, pending, reason)
        with contextlib.suppress(UpdateError):
            await control.restart()
        return UpdateProgress(UpdateState.FAILED, 100, f"{running} rolled back: {reason}")
    write_result(layout, UpdateResult(running, "confirmed"))
    clear_pending(layout)
    if on_confirmed is not None:
        on_confirmed()
    removed = await asyncio.to_thread(installer.prune)
    log.info("release %s confirmed; removed old releases %s", running, removed or "none")
    return UpdateProgress(UpdateState.DONE, 100, f"updated to {running}")
