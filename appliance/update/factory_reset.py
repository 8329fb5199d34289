"""Factory reset on the device (SCC manual: Factory reset menu, OK held 10 s).

Back to defaults: every setting (so the charge mode too), the Wi-Fi connections the appliance
made (home network, commissioning access point) and every other file the parts keep in the
state directory (energy of the running quarter, logs). Kept: the device number (it names the
device on the P1 header and the commissioning SSID) and the installed release with its update
history. Then the service restarts, so every part starts from the defaults as after a fresh flash.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from appliance.runtime.context import SettingsHolder
from appliance.settings import Settings
from appliance.update.service import ServiceControl
from drivers.errors import NetworkError

log = logging.getLogger(__name__)

DEVICE_NUMBER_FILE = "device_number"
SETTINGS_FILE = "settings.json"
UPDATE_STATE_DIR = "update"  # pending/last update result: describes the installed release
# NetworkManager profiles the appliance creates (drivers/network.py names them).
WIFI_CONNECTIONS = ("scc-home-wifi", "scc-commissioning")


class ConnectionRemover(Protocol):
    """The part of drivers.network.NetworkManager a reset needs."""

    async def delete_connection(self, name: str) -> None: ...


class DeviceFactoryReset:
    """`appliance.services.FactoryResetService` on the device."""

    def __init__(
        self,
        settings: SettingsHolder,
        state_dir: Path,
        control: ServiceControl,
        network: Callable[[], ConnectionRemover | None],
        wifi_connections: Sequence[str] = WIFI_CONNECTIONS,
    ) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.control = control
        self.network = network
        self.wifi_connections = tuple(wifi_connections)
        self.errors: list[str] = []

    async def reset(self) -> None:
        self.errors = []
        # Defaults first, through the holder: persisted atomically and published to every part.
        self.settings.update(Settings())
        removed = await asyncio.to_thread(self._wipe_state)
        log.warning("factory reset: settings to defaults, removed %s", removed or "nothing else")
        network = self.network()
        if network is None:
            self.errors.append("no network control: Wi-Fi connections kept")
        else:
            for name in self.wifi_connections:
                try:
                    await network.delete_connection(name)
                except (NetworkError, OSError) as exc:  # reset the rest anyway
                    self.errors.append(f"cannot delete Wi-Fi connection {name}: {exc}")
        for error in self.errors:
            log.error("factory reset: %s", error)
        await self.control.restart()

    def _wipe_state(self) -> list[str]:
        keep = {DEVICE_NUMBER_FILE, SETTINGS_FILE, UPDATE_STATE_DIR}
        removed = []
        for entry in sorted(self.state_dir.iterdir()):
            if entry.name in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
        return removed
