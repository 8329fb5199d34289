"""The update flow on a temporary device root, against a real update server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packaging.version import Version

from appliance.services import UpdateState
from appliance.update.bundle import BundleRejectedError, load_public_keys, verify_bundle
from appliance.update.releases import (
    Layout,
    current_version,
    guard,
    is_complete,
    read_pending,
    read_result,
)
from appliance.update.service import DeviceUpdateService
from tests.update.conftest import (
    MACHINE,
    PYTHON,
    Keys,
    UpdateServer,
    make_bundle,
    rewrite_bundle,
    snapshot,
    venv_installer,
)


class RecordingControl:
    """Stands in for systemd: records what the service asked it to do."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def restart(self) -> None:
        self.calls.append("restart")

    async def reboot(self) -> None:
        self.calls.append("reboot")


def service_for(layout: Layout, url: str, control: RecordingControl) -> DeviceUpdateService:
    return DeviceUpdateService(
        layout,
        lambda: url,
        venv_installer(layout),
        control,
        machine=MACHINE,
        python=PYTHON,
    )


def user_visible(layout: Layout) -> dict[str, str]:
    return {k: v for k, v in snapshot(layout.root).items() if "downloads" not in k}


async def run_process(argv: list[str], check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """A child process with this checkout importable, off the event loop."""
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[2])}
    return await asyncio.to_thread(subprocess.run, argv, capture_output=True, env=env, check=check)


async def ok() -> list[str]:
    return []


async def test_good_bundle_installs_switches_restarts_and_is_confirmed(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    url = update_server.publish(make_bundle(tmp_path / "build", "0.2.0", keys.private))
    control = RecordingControl()
    service = service_for(layout, url, control)

    await service.start()
    progress = await service.wait()

    assert progress.state is UpdateState.RESTARTING, progress.message
    assert control.calls == ["restart"]
    assert current_version(layout) == "0.2.0"
    release = layout.release("0.2.0")
    out = await run_process([str(release / "venv/bin/scc")], check=True)
    assert out.stdout.decode().strip() == "scc 0.2.0"
    assert not (release / "wheels").exists()
    assert read_pending(layout) is not None
    assert list(layout.downloads.iterdir()) == []

    # The restarted service (a new process, here a new object) runs the new release.
    assert guard(layout) == "start 1/3 of unconfirmed 0.2.0"
    after_restart = service_for(layout, url, RecordingControl())
    done = await after_restart.confirm_pending("0.2.0", ok, None)
    assert done.state is UpdateState.DONE
    assert read_pending(layout) is None
    assert read_result(layout) is not None
    assert read_result(layout).outcome == "confirmed"  # type: ignore[union-attr]
    assert is_complete(layout.release("0.1.0"))  # kept for the next rollback


async def test_same_version_is_up_to_date_without_download(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    url = update_server.publish(make_bundle(tmp_path / "build", "0.1.0", keys.private))
    before = user_visible(layout)
    progress = await service_for(layout, url, RecordingControl()).run()
    assert progress.state is UpdateState.UP_TO_DATE
    assert not any(path.endswith(".bundle") for path in update_server.requests)
    assert user_visible(layout) == before


async def refused(layout: Layout, url: str) -> str:
    before = user_visible(layout)
    control = RecordingControl()
    progress = await service_for(layout, url, control).run()
    assert progress.state is UpdateState.FAILED
    assert control.calls == []
    assert user_visible(layout) == before, "a refused update changed the device"
    assert current_version(layout) == "0.1.0"
    assert not layout.downloads.exists() or list(layout.downloads.iterdir()) == []
    return progress.message


async def test_bad_signature_is_refused(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "build", "0.2.0", keys.private)
    rewrite_bundle(bundle, {"manifest.sig": bytes(64)})
    message = await refused(layout, update_server.publish(bundle))
    assert "signature" in message


async def test_bundle_signed_with_an_untrusted_key_is_refused(
    layout: Layout, other_key: Ed25519PrivateKey, update_server: UpdateServer, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "build", "0.2.0", other_key)
    message = await refused(layout, update_server.publish(bundle))
    assert "signature does not match a trusted key" in message


async def test_truncated_download_is_refused(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "build", "0.2.0", keys.private)
    url = update_server.publish(bundle)
    update_server.truncate_to = bundle.stat().st_size // 2
    message = await refused(layout, url)
    assert "download failed" in message or "truncated" in message


async def test_truncated_bundle_file_is_refused_by_verification(
    layout: Layout, keys: Keys, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "build", "0.2.0", keys.private)
    bundle.write_bytes(bundle.read_bytes()[:2500])  # inside the wheel member
    with pytest.raises(BundleRejectedError, match=r"truncated|incomplete|damaged"):
        verify_bundle(
            bundle, load_public_keys(layout.trusted_keys), Version("0.1.0"), MACHINE, PYTHON
        )


async def test_tampered_payload_is_refused(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "build", "0.2.0", keys.private)
    wheel = tmp_path / "build/wheels-0.2.0/scc_appliance-0.2.0-py3-none-any.whl"
    data = bytearray(wheel.read_bytes())
    data[100] ^= 0xFF
    rewrite_bundle(bundle, {f"wheels/{wheel.name}": bytes(data)})
    message = await refused(layout, update_server.publish(bundle))
    assert "does not match the manifest" in message


async def test_downgrade_is_refused_even_when_the_index_lies(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    old = make_bundle(tmp_path / "build", "0.0.9", keys.private)
    message = await refused(layout, update_server.publish(old, index_version="0.3.0"))
    assert "not newer than installed 0.1.0" in message


async def test_incompatible_machine_is_refused(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    url = update_server.publish(make_bundle(tmp_path / "build", "0.2.0", keys.private))
    before = user_visible(layout)
    service = DeviceUpdateService(
        layout, lambda: url, venv_installer(layout), RecordingControl(), machine="x86_64"
    )
    progress = await service.run()
    assert progress.state is UpdateState.FAILED
    assert "this device is x86_64" in progress.message
    assert user_visible(layout) == before


async def test_release_that_does_not_start_is_never_switched_to(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "build", "0.2.0", keys.private, exit_code=3)
    message = await refused(layout, update_server.publish(bundle))
    assert "building the release failed" in message


async def test_release_failing_its_health_check_is_rolled_back(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    url = update_server.publish(make_bundle(tmp_path / "build", "0.2.0", keys.private))
    await service_for(layout, url, RecordingControl()).run()
    assert current_version(layout) == "0.2.0"

    async def unhealthy() -> list[str]:
        return ["no fresh reading within 120 s"]

    control = RecordingControl()
    progress = await service_for(layout, url, control).confirm_pending("0.2.0", unhealthy, None)
    assert progress.state is UpdateState.FAILED
    assert "rolled back" in progress.message
    assert current_version(layout) == "0.1.0"
    assert control.calls == ["restart"]
    assert read_pending(layout) is None
    result = read_result(layout)
    assert result is not None
    assert (result.version, result.outcome) == ("0.2.0", "rolled_back")


async def test_release_that_crashes_at_every_start_is_rolled_back_by_the_guard(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path
) -> None:
    url = update_server.publish(make_bundle(tmp_path / "build", "0.2.0", keys.private))
    await service_for(layout, url, RecordingControl()).run()
    for attempt in (1, 2, 3):  # the new release never gets to confirm itself
        assert guard(layout) == f"start {attempt}/3 of unconfirmed 0.2.0"
    assert guard(layout) == "rolled back 0.2.0 -> 0.1.0"
    assert current_version(layout) == "0.1.0"
    assert read_pending(layout) is None


# --- power cuts ---------------------------------------------------------------------------------

_CUT_SCRIPT = """
import os, signal, sys
from pathlib import Path
from packaging.version import Version
from appliance.update.bundle import load_public_keys, verify_bundle
from appliance.update.install import Installer, VenvBuilder
from appliance.update.releases import Layout

root, bundle, cut_after, machine, python = sys.argv[1:6]
layout = Layout(Path(root))

def hook(step):
    if step == cut_after:
        os.kill(os.getpid(), signal.SIGKILL)  # the power goes, mid-update

verified = verify_bundle(Path(bundle), load_public_keys(layout.trusted_keys), Version("0.1.0"),
                         machine, python)
Installer(layout, VenvBuilder(Path(sys.executable), Path(sys.executable)), hook).install(verified)
"""


def assert_bootable(layout: Layout) -> str:
    """What the boot guard leaves: a complete current release with a runnable layout."""
    guard(layout)
    version = current_version(layout)
    assert version is not None, "current does not point at a complete release"
    assert is_complete(layout.app_dir / os.readlink(layout.current))
    pending = read_pending(layout)
    assert pending is None or pending.version == version
    return version


@pytest.mark.parametrize("cut_after", ["unpack", "build", "seal", "stage", "switch"])
async def test_power_cut_after_each_install_step_leaves_a_bootable_device(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path, cut_after: str
) -> None:
    bundle = make_bundle(tmp_path / "build", "0.2.0", keys.private)
    cut = await run_process(
        [
            sys.executable,
            "-c",
            _CUT_SCRIPT,
            str(layout.root),
            str(bundle),
            cut_after,
            MACHINE,
            PYTHON,
        ]
    )
    assert cut.returncode == -9, cut.stderr.decode()

    expected = "0.2.0" if cut_after == "switch" else "0.1.0"
    assert assert_bootable(layout) == expected

    if cut_after == "switch":
        # The new release came up after the cut: it confirms itself as usual.
        progress = await service_for(layout, "", RecordingControl()).confirm_pending(
            "0.2.0", ok, None
        )
        assert progress.state is UpdateState.DONE
    else:
        # The next attempt cleans up the cut-off one and succeeds.
        url = update_server.publish(bundle)
        progress = await service_for(layout, url, RecordingControl()).run()
        assert progress.state is UpdateState.RESTARTING, progress.message
        assert assert_bootable(layout) == "0.2.0"


_ROLLBACK_CUT_SCRIPT = """
import os, signal, sys
from pathlib import Path
from appliance.update import releases

root, cut_at = sys.argv[1:3]
layout = releases.Layout(Path(root))
real = {name: getattr(releases, name) for name in ("switch_to", "clear_pending")}

def cutting(name):
    def call(*args):
        if name == cut_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real[name](*args)
    return call

releases.switch_to = cutting("switch_to")
releases.clear_pending = cutting("clear_pending")
releases.roll_back(layout, releases.read_pending(layout), "health check failed")
"""


@pytest.mark.parametrize("cut_at", ["switch_to", "clear_pending"])
async def test_power_cut_during_rollback_leaves_a_bootable_device(
    layout: Layout, keys: Keys, update_server: UpdateServer, tmp_path: Path, cut_at: str
) -> None:
    url = update_server.publish(make_bundle(tmp_path / "build", "0.2.0", keys.private))
    await service_for(layout, url, RecordingControl()).run()
    cut = await run_process([sys.executable, "-c", _ROLLBACK_CUT_SCRIPT, str(layout.root), cut_at])
    assert cut.returncode == -9, cut.stderr.decode()
    version = assert_bootable(layout)
    assert version in {"0.1.0", "0.2.0"}
    result = read_result(layout)
    assert result is not None
    assert result.outcome == "rolled_back"
    # Whichever release runs, the guard finishes the job or the health check does it again.
    if version == "0.2.0":
        assert read_pending(layout) is not None


def test_result_file_is_json(layout: Layout) -> None:
    assert not layout.result_file.exists()
    layout.result_file.write_text(json.dumps({"version": "0.2.0", "outcome": "confirmed"}))
    result = read_result(layout)
    assert result is not None
    assert result.outcome == "confirmed"


async def test_no_url_or_missing_index_fails_with_a_reason(
    layout: Layout, update_server: UpdateServer
) -> None:
    assert "no update URL configured" in await refused(layout, "")
    assert "HTTP 404" in await refused(layout, update_server.url + "index.json")
