"""Release directories, the `current` symlink, the pending-update record and the boot guard.

Layout (under an injectable root, `/` on the device):

    opt/scc/releases/<version>/          one complete install: venv/, manifest.json, .complete
    opt/scc/current -> releases/<version>  what systemd starts; replaced only by an atomic rename
    var/lib/scc/update/pending.json      an update switched to but not yet confirmed healthy
    var/lib/scc/update/last_result.json  the outcome of the last update (shown on the OLED)

Invariant: `current` only ever points at a directory holding `.complete`, which is written
(and fsynced) last. A power cut at any moment leaves either the old or the new complete release.

This module uses the standard library only: the boot guard (`main`) runs as the unit's first
ExecStartPre with the system Python, so it works even when the release it guards does not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

COMPLETE_MARKER = ".complete"
MAX_BOOTS = 3  # starts a new release gets to report healthy before the guard rolls it back
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Layout:
    """Every path the update machinery touches, under one root (a temporary one in tests)."""

    root: Path = Path("/")

    @property
    def app_dir(self) -> Path:
        return self.root / "opt/scc"

    @property
    def releases(self) -> Path:
        return self.app_dir / "releases"

    @property
    def current(self) -> Path:
        return self.app_dir / "current"

    @property
    def state(self) -> Path:
        return self.root / "var/lib/scc/update"

    @property
    def downloads(self) -> Path:
        return self.state / "downloads"

    @property
    def pending_file(self) -> Path:
        return self.state / "pending.json"

    @property
    def result_file(self) -> Path:
        return self.state / "last_result.json"

    @property
    def trusted_keys(self) -> Path:
        return self.root / "etc/scc/update-keys"

    def release(self, version: str) -> Path:
        if not _VERSION.match(version):
            raise ValueError(f"not a release version: {version!r}")
        return self.releases / version


@dataclass(frozen=True, slots=True)
class Pending:
    """An update switched to (or about to be) that has not yet proved itself healthy."""

    version: str
    previous: str
    boots: int = 0


@dataclass(frozen=True, slots=True)
class UpdateResult:
    version: str
    outcome: str  # "confirmed" | "rolled_back"
    reason: str = ""


# The boot guard runs this file on its own with the system Python, so it cannot import
# appliance.atomic; these two are that module's functions, kept identical (a test checks).
def fsync_dir(directory: Path) -> None:
    """Make a rename or a new entry in `directory` durable."""
    fd = os.open(directory, os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, rename over `path`, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True).encode() + b"\n")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: treated as corrupt by the callers
    return value if isinstance(value, dict) else {}


def is_complete(release_dir: Path) -> bool:
    return (release_dir / COMPLETE_MARKER).is_file()


def complete_releases(layout: Layout) -> list[str]:
    if not layout.releases.is_dir():
        return []
    return sorted(
        entry.name for entry in layout.releases.iterdir() if entry.is_dir() and is_complete(entry)
    )


def current_version(layout: Layout) -> str | None:
    """The release `current` points at, if it points at a complete one."""
    try:
        target = os.readlink(layout.current)
    except OSError:
        return None
    path = layout.app_dir / target
    if path.parent != layout.releases or not is_complete(path):
        return None
    return path.name


def switch_to(layout: Layout, version: str) -> None:
    """Point `current` at a complete release with one rename (never a moment without it)."""
    target = layout.release(version)
    if not is_complete(target):
        raise ValueError(f"release {version} is not complete; refusing to switch to it")
    link = layout.app_dir / f".current-{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(target.relative_to(layout.app_dir), link)
    os.replace(link, layout.current)
    fsync_dir(layout.app_dir)


def mark_complete(release_dir: Path) -> None:
    """The last write of an install: after it, the release may be switched to."""
    write_atomic(release_dir / COMPLETE_MARKER, b"")


def remove_release(layout: Layout, version: str) -> None:
    """Delete a release that is not current: unmark it first so a cut leaves it incomplete."""
    if version == current_version(layout):
        raise ValueError(f"release {version} is current; refusing to remove it")
    path = layout.release(version)
    (path / COMPLETE_MARKER).unlink(missing_ok=True)
    if path.exists():
        fsync_dir(path)
        shutil.rmtree(path)


def read_pending(layout: Layout) -> Pending | None:
    value = _read_json(layout.pending_file)
    if value is None:
        return None
    try:
        return Pending(str(value["version"]), str(value["previous"]), int(value.get("boots", 0)))
    except (KeyError, TypeError, ValueError):
        return Pending(version="", previous="")  # corrupt: the guard drops it


def write_pending(layout: Layout, pending: Pending) -> None:
    _write_json(layout.pending_file, asdict(pending))


def clear_pending(layout: Layout) -> None:
    with contextlib.suppress(FileNotFoundError):
        layout.pending_file.unlink()
        fsync_dir(layout.state)


def read_result(layout: Layout) -> UpdateResult | None:
    value = _read_json(layout.result_file)
    if not value:
        return None
    return UpdateResult(
        str(value.get("version", "")), str(value.get("outcome", "")), str(value.get("reason", ""))
    )


def write_result(layout: Layout, result: UpdateResult) -> None:
    _write_json(layout.result_file, asdict(result))


def roll_back(layout: Layout, pending: Pending, reason: str) -> None:
    """Back to the previous release. The result is written first: a cut then repeats this."""
    write_result(layout, UpdateResult(pending.version, "rolled_back", reason))
    if is_complete(layout.release(pending.previous)):
        switch_to(layout, pending.previous)
    clear_pending(layout)


def _newest(versions: Sequence[str]) -> str:
    def key(version: str) -> tuple[tuple[int, ...], str]:
        numbers = tuple(int(part) for part in re.findall(r"\d+", version))
        return numbers, version

    return max(versions, key=key)


def guard(layout: Layout, max_boots: int = MAX_BOOTS) -> str:
    """Run before every start of the service; returns what it did, for the journal.

    - `current` missing or pointing at an incomplete release: point it at the newest complete one.
    - an update pending but not switched to (cut between recording and switching): forget it.
    - an update pending and switched to: count this start; after `max_boots` starts without
      confirmation, roll back to the previous release.
    """
    actions: list[str] = []
    running = current_version(layout)
    if running is None:
        available = complete_releases(layout)
        if not available:
            return "no complete release installed"
        running = _newest(available)
        switch_to(layout, running)
        actions.append(f"repaired current -> {running}")
    pending = read_pending(layout)
    if pending is not None:
        if pending.version != running:
            clear_pending(layout)
            actions.append(f"dropped unswitched pending update {pending.version or '(corrupt)'}")
        elif pending.boots >= max_boots:
            roll_back(layout, pending, f"not healthy after {pending.boots} starts")
            actions.append(f"rolled back {pending.version} -> {pending.previous}")
        else:
            write_pending(layout, Pending(pending.version, pending.previous, pending.boots + 1))
            actions.append(f"start {pending.boots + 1}/{max_boots} of unconfirmed {running}")
    return "; ".join(actions) or f"release {running}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scc-guard", description="Check the installed releases before the service starts."
    )
    parser.add_argument("--root", type=Path, default=Path("/"))
    parser.add_argument("--max-boots", type=int, default=MAX_BOOTS)
    args = parser.parse_args(argv)
    message = guard(Layout(args.root), args.max_boots)
    print(f"scc-guard: {message}")
    return 0 if current_version(Layout(args.root)) is not None else 1


if __name__ == "__main__":
    sys.exit(main())
