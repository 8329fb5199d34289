"""Release directory primitives and the boot guard, on a temporary root."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

from appliance import atomic
from appliance.update import releases
from appliance.update.releases import (
    Layout,
    Pending,
    complete_releases,
    current_version,
    guard,
    main,
    mark_complete,
    read_pending,
    remove_release,
    switch_to,
    write_pending,
)


def test_switch_refuses_an_incomplete_release(layout: Layout) -> None:
    layout.release("0.2.0").mkdir(parents=True)
    with pytest.raises(ValueError, match="not complete"):
        switch_to(layout, "0.2.0")
    assert current_version(layout) == "0.1.0"


def test_versions_cannot_escape_the_releases_directory(layout: Layout) -> None:
    with pytest.raises(ValueError, match="not a release version"):
        layout.release("../../etc")


def test_current_release_cannot_be_removed(layout: Layout) -> None:
    with pytest.raises(ValueError, match="is current"):
        remove_release(layout, "0.1.0")


def test_guard_repairs_a_dangling_current_link(layout: Layout) -> None:
    for version in ("0.2.0", "0.10.0"):
        layout.release(version).mkdir(parents=True)
        mark_complete(layout.release(version))
    layout.current.unlink()
    os.symlink("releases/0.3.0", layout.current)  # cut off before it was complete
    assert guard(layout) == "repaired current -> 0.10.0"
    assert current_version(layout) == "0.10.0"
    assert complete_releases(layout) == ["0.1.0", "0.10.0", "0.2.0"]


def test_guard_drops_a_corrupt_or_unswitched_pending_record(layout: Layout) -> None:
    layout.pending_file.write_text("{not json")
    assert guard(layout) == "dropped unswitched pending update (corrupt)"
    write_pending(layout, Pending("0.2.0", "0.1.0"))
    assert guard(layout) == "dropped unswitched pending update 0.2.0"
    assert read_pending(layout) is None


def test_guard_command_fails_without_any_release(tmp_path: Path) -> None:
    assert main(["--root", str(tmp_path)]) == 1


def test_the_guard_keeps_the_atomic_writer_of_the_appliance() -> None:
    """releases.py runs standalone as the boot guard, so it carries its own copy."""
    for name in ("fsync_dir", "write_atomic"):
        assert inspect.getsource(getattr(releases, name)) == inspect.getsource(
            getattr(atomic, name)
        ), name
