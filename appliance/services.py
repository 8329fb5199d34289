"""Interfaces between the front panel (and web pages) and the services that do the work.

The panel's state machine is pure: it emits effects; the runtime calls these services.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CommissioningStatus:
    active: bool
    ssid: str = ""
    code: str = ""  # 8-digit WPA2 passphrase, fresh each time
    station_connected: bool = False
    url: str = ""  # shown once a station is connected
    error: str = ""


class CommissioningService(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def status(self) -> CommissioningStatus: ...


class UpdateState(enum.StrEnum):
    IDLE = "idle"
    CHECKING = "checking"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    INSTALLING = "installing"
    RESTARTING = "restarting"
    UP_TO_DATE = "up_to_date"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class UpdateProgress:
    state: UpdateState
    percent: int = 0
    message: str = ""

    @property
    def running(self) -> bool:
        return self.state in {
            UpdateState.CHECKING,
            UpdateState.DOWNLOADING,
            UpdateState.VERIFYING,
            UpdateState.INSTALLING,
            UpdateState.RESTARTING,
        }


class FirmwareUpdateService(Protocol):
    async def start(self) -> None: ...
    def progress(self) -> UpdateProgress: ...


class FactoryResetService(Protocol):
    async def reset(self) -> None:
        """Settings, Wi-Fi connections and charge mode back to defaults; restart the service."""
        ...
