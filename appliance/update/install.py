"""Install a verified bundle into a new release directory and switch to it.

The steps, in order (each one safe to cut off by a power failure, see `releases`):

    unpack   wheels into releases/<version>/wheels (the directory has no `.complete` yet)
    build    a venv in releases/<version>/venv from those wheels only (no index), then run it once
    seal     copy the manifest, write `.complete`
    stage    record pending.json {version, previous}
    switch   rename a new symlink over `current`

Blocking work: callers run `install` in a thread.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from packaging.version import InvalidVersion, Version

from appliance.atomic import write_atomic
from appliance.errors import UpdateError
from appliance.update.bundle import MANIFEST, Manifest, VerifiedBundle, extract_verified
from appliance.update.releases import (
    Layout,
    Pending,
    complete_releases,
    current_version,
    is_complete,
    mark_complete,
    remove_release,
    switch_to,
    write_pending,
)

# Steps in the order they run; a test cuts the power after each one.
STEPS = ("unpack", "build", "seal", "stage", "switch")
StepHook = Callable[[str], None]


class ReleaseBuilder(Protocol):
    def build(self, release_dir: Path, manifest: Manifest) -> None:
        """Create releases/<version>/venv from releases/<version>/wheels; raise UpdateError."""
        ...


@dataclass(frozen=True, slots=True)
class VenvBuilder:
    """A venv that sees the OS's hardware bindings (python3-spidev, python3-lgpio) and gets
    everything else from the bundle's wheels, never from an index."""

    system_python: Path = Path("/usr/bin/python3")
    # Any interpreter with pip (the OS's python3-pip): release venvs are made without pip.
    pip_python: Path = Path("/usr/bin/python3")
    timeout_s: float = 900.0
    extra_pip_args: Sequence[str] = field(default_factory=tuple)

    def build(self, release_dir: Path, manifest: Manifest) -> None:
        venv = release_dir / "venv"
        wheels = release_dir / "wheels"
        self._run(
            [str(self.system_python), "-m", "venv", "--system-site-packages", "--without-pip", venv]
        )
        self._run(
            [
                str(self.pip_python), "-m", "pip", "--python", str(venv / "bin/python"),
                "install", "--no-index", "--find-links", str(wheels), "--no-cache-dir",
                "--disable-pip-version-check", "--quiet", *self.extra_pip_args,
                str(release_dir / manifest.app_wheel),
            ]
        )  # fmt: skip
        # The release must at least start: catches a broken wheel before anything switches.
        self._run([str(venv / "bin/scc"), "--version"])

    def _run(self, argv: Sequence[str | Path]) -> None:
        try:
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [str(a) for a in argv],
                check=True,
                capture_output=True,
                timeout=self.timeout_s,
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-3:]
            raise UpdateError(f"building the release failed: {' | '.join(detail)}") from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UpdateError(f"building the release failed: {exc}") from exc


def installed_version(layout: Layout) -> Version | None:
    name = current_version(layout)
    if name is None:
        return None
    try:
        return Version(name)
    except InvalidVersion:
        return None


class Installer:
    def __init__(
        self, layout: Layout, builder: ReleaseBuilder, on_step: StepHook | None = None
    ) -> None:
        self.layout = layout
        self.builder = builder
        self.on_step = on_step or (lambda step: None)

    def install(self, bundle: VerifiedBundle) -> str:
        """Unpack, build, seal, stage and switch; returns the version switched from."""
        version = bundle.manifest.version
        previous = current_version(self.layout)
        if previous is None:
            raise UpdateError("no complete release is current; repair the installation first")
        target = self.layout.release(version)
        if target.exists():  # a cut-off earlier attempt, or a complete release never switched to
            remove_release(self.layout, version)
        try:
            target.mkdir(parents=True)
            extract_verified(bundle, target)
            self.on_step("unpack")
            self.builder.build(target, bundle.manifest)
            self.on_step("build")
            write_atomic(target / MANIFEST, bundle.manifest.to_bytes())
            shutil.rmtree(target / "wheels")  # the venv holds what is needed
            mark_complete(target)
            self.on_step("seal")
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        write_pending(self.layout, Pending(version=version, previous=previous))
        self.on_step("stage")
        switch_to(self.layout, version)
        self.on_step("switch")
        return previous

    def prune(self, keep: int = 2) -> list[str]:
        """Remove old complete releases and cut-off installs, keeping current and the newest."""
        current = current_version(self.layout)
        removed = []
        if self.layout.releases.is_dir():
            for entry in sorted(self.layout.releases.iterdir()):
                if entry.is_dir() and not is_complete(entry) and entry.name != current:
                    shutil.rmtree(entry)
                    removed.append(entry.name)
        others = [v for v in complete_releases(self.layout) if v != current]
        others.sort(key=_version_key)
        for version in others[: max(0, len(others) - (keep - 1))]:
            remove_release(self.layout, version)
            removed.append(version)
        return removed


def _version_key(name: str) -> Version:
    try:
        return Version(name)
    except InvalidVersion:
        return Version("0")
