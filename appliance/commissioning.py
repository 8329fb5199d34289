"""Commissioning (SCC manual section 6): the Wi-Fi access point, its 5-minute rule, and the
network settings the pages change (home Wi-Fi, the Ethernet address of the Modbus TCP meter).

`CommissioningSession` is the pure state machine (time comes in as an argument).
`NetworkCommissioning` drives NetworkManager through the `drivers.network` interface and is the
`CommissioningService` the front panel and the web pages use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, ip_address

from appliance.clock import Clock
from appliance.identity import DeviceIdentity
from appliance.services import CommissioningStatus
from appliance.settings import MeterSettings, Settings, WifiSettings
from drivers.errors import NetworkError
from drivers.network import (
    AP_ADDRESS,
    AP_CONNECTION,
    HOME_WIFI_CONNECTION,
    AccessPointConfig,
    EthernetConfig,
    NetworkManager,
    StationConfig,
    WifiNetwork,
    access_point_settings,
    ethernet_settings,
    station_settings,
)

log = logging.getLogger(__name__)

NO_STATION_TIMEOUT_S = 300.0  # manual 6: AP off after 5 minutes without a station
AP_NETWORK: IPv4Network = AP_ADDRESS.network  # 192.168.11.0/30: us (.1) and the station (.2)
COMMISSIONING_URL = f"http://{AP_ADDRESS.ip}/"
CODE_DIGITS = 8  # WPA2 needs 8..63 characters; the manual's 6 digits cannot work (SPEC)


def new_wifi_code() -> str:
    """A fresh random 8-digit code from the OS's CSPRNG."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _qr_escape(text: str) -> str:
    for char in '\\;,:"':
        text = text.replace(char, "\\" + char)
    return text


def wifi_qr_payload(ssid: str, code: str) -> str:
    """The text of a Wi-Fi join QR code (the de-facto `WIFI:` format phones understand)."""
    return f"WIFI:T:WPA;S:{_qr_escape(ssid)};P:{_qr_escape(code)};;"


class CommissioningSession:
    """The 5-minute rule: the AP ends after `timeout_s` with no station associated.

    The timer runs from the start and again whenever the last station leaves; while a station
    is connected the session never times out (the installer is at work). `hold` pauses it while
    the appliance itself takes the AP down (the Wi-Fi connection test).
    """

    def __init__(self, now: float, timeout_s: float = NO_STATION_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.station_connected = False
        self.ever_connected = False
        self._idle_since = now

    def observe(self, stations: int, now: float) -> None:
        connected = stations > 0
        if self.station_connected and not connected:
            self._idle_since = now
        self.station_connected = connected
        self.ever_connected = self.ever_connected or connected

    def restart_timer(self, now: float) -> None:
        self._idle_since = now

    def remaining_s(self, now: float) -> float:
        if self.station_connected:
            return self.timeout_s
        return max(0.0, self.timeout_s - (now - self._idle_since))

    def expired(self, now: float) -> bool:
        return not self.station_connected and now - self._idle_since >= self.timeout_s


@dataclass(frozen=True, slots=True)
class HomeWifiResult:
    ssid: str
    ok: bool
    message: str
    address: str = ""


class NetworkCommissioning:
    """`CommissioningService` on NetworkManager. `poll()` is called once a second by the runtime."""

    def __init__(
        self,
        network: NetworkManager,
        identity: DeviceIdentity,
        clock: Clock,
        current_settings: Callable[[], Settings],
        *,
        wifi_interface: str = "wlan0",
        code_factory: Callable[[], str] = new_wifi_code,
        timeout_s: float = NO_STATION_TIMEOUT_S,
    ) -> None:
        self._network = network
        self._identity = identity
        self._clock = clock
        self._settings = current_settings
        self._interface = wifi_interface
        self._new_code = code_factory
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._session: CommissioningSession | None = None
        self._code = ""
        self._error = ""
        self._testing_wifi = False
        self.networks: list[WifiNetwork] = []
        self.home_wifi_result: HomeWifiResult | None = None
        self.ended_reason = ""

    @property
    def active(self) -> bool:
        return self._session is not None

    @property
    def testing_wifi(self) -> bool:
        return self._testing_wifi

    def status(self) -> CommissioningStatus:
        session = self._session
        if session is None:
            return CommissioningStatus(active=False, error=self._error)
        connected = session.station_connected
        return CommissioningStatus(
            active=True,
            ssid=self._identity.ssid,
            code=self._code,
            station_connected=connected,
            url=COMMISSIONING_URL if connected else "",
            error=self._error,
        )

    def remaining_s(self) -> float:
        session = self._session
        return 0.0 if session is None else session.remaining_s(self._clock.monotonic())

    def _ap_config(self) -> AccessPointConfig:
        return AccessPointConfig(self._identity.ssid, self._code, interface=self._interface)

    async def start(self) -> None:
        """Scan for the Wi-Fi page (an AP cannot scan), then bring up the AP with a new code."""
        async with self._lock:
            if self._session is not None:
                return
            self._error = ""
            self.ended_reason = ""
            self.home_wifi_result = None
            try:
                self.networks = await self._network.scan(self._interface)
            except NetworkError as exc:
                log.warning("Wi-Fi scan before commissioning failed: %s", exc)
                self.networks = []
            self._code = self._new_code()
            try:
                await self._network.add_connection(access_point_settings(self._ap_config()))
                await self._network.activate(AP_CONNECTION)
            except NetworkError as exc:
                self._error = f"access point failed: {exc}"
                log.error("commissioning: %s", self._error)
                await self._remove_ap()
                await self._restore_home_wifi()
                return
            self._session = CommissioningSession(self._clock.monotonic(), self._timeout_s)
            log.info("commissioning started: access point %s", self._identity.ssid)

    async def stop(self, reason: str = "ended at the device") -> None:
        """Take the AP down and bring the home Wi-Fi back (if configured)."""
        async with self._lock:
            if self._session is None:
                return
            self._session = None
            self._code = ""
            self.ended_reason = reason
            await self._remove_ap()
            await self._restore_home_wifi()
            log.info("commissioning stopped: %s", reason)

    async def poll(self) -> None:
        """One step of the 5-minute rule: look at the stations, end the session when due."""
        session = self._session
        if session is None or self._testing_wifi:
            return
        try:
            stations = await self._network.station_count(self._interface)
        except NetworkError as exc:
            log.warning("cannot list access point stations: %s", exc)
            stations = 0  # unknown counts as absent: the AP must not stay up forever
        session.observe(stations, self._clock.monotonic())
        if session.expired(self._clock.monotonic()):
            await self.stop("no station for 5 minutes")

    async def _remove_ap(self) -> None:
        try:
            await self._network.deactivate(AP_CONNECTION)
            await self._network.delete_connection(AP_CONNECTION)
        except NetworkError as exc:
            self._error = f"access point teardown failed: {exc}"
            log.error("commissioning: %s", self._error)

    async def _restore_home_wifi(self) -> None:
        if not self._settings().wifi.ssid:
            return
        try:
            if await self._network.has_connection(HOME_WIFI_CONNECTION):
                await self._network.activate(HOME_WIFI_CONNECTION)
        except NetworkError as exc:
            # Not fatal: NM keeps retrying an autoconnect profile by itself.
            log.warning("home Wi-Fi did not come back yet: %s", exc)

    async def connect_home_wifi(self, wifi: WifiSettings) -> HomeWifiResult:
        """Store the home Wi-Fi profile and try it once, then bring the AP back.

        The Pi has one radio: joining the router takes the AP down for up to ~35 s. The AP
        returns with the same SSID and code so the installer's phone rejoins by itself and the
        page shows the result. The 5-minute timer restarts afterwards.
        """
        async with self._lock:
            self._testing_wifi = True
            was_active = self._session is not None
            try:
                result = await self._try_station(wifi, ap_active=was_active)
            finally:
                if was_active:
                    await self._bring_ap_back()
                self._testing_wifi = False
            self.home_wifi_result = result
            return result

    async def _try_station(self, wifi: WifiSettings, *, ap_active: bool) -> HomeWifiResult:
        config = StationConfig(wifi.ssid, wifi.password, interface=self._interface)
        try:
            await self._network.add_connection(station_settings(config))
        except NetworkError as exc:
            return HomeWifiResult(wifi.ssid, ok=False, message=f"not stored: {exc}")
        try:
            if ap_active:
                await self._network.deactivate(AP_CONNECTION)
            await self._network.activate(HOME_WIFI_CONNECTION)
            state = await self._network.ipv4_state(self._interface)
        except NetworkError as exc:
            return HomeWifiResult(wifi.ssid, ok=False, message=str(exc))
        address = str(state.addresses[0].ip) if state.addresses else ""
        message = f"connected, address {address}" if address else "connected"
        return HomeWifiResult(wifi.ssid, ok=True, message=message, address=address)

    async def _bring_ap_back(self) -> None:
        try:
            await self._network.activate(AP_CONNECTION)
        except NetworkError as exc:
            self._error = f"access point did not come back: {exc}"
            log.error("commissioning: %s", self._error)
        session = self._session
        if session is not None:
            session.observe(0, self._clock.monotonic())
            session.restart_timer(self._clock.monotonic())


def _address(text: str | None) -> IPv4Address | IPv6Address | None:
    if not text:
        return None
    try:
        return ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def is_commissioning_peer(remote: str | None, local: str | None, *, allow_loopback: bool) -> bool:
    """Whether a request comes from the AP's station (or from this machine, in simulation).

    Both ends count: the station's address is in 192.168.11.0/30 *and* the request arrived at
    our AP address, so a home network that happens to use 192.168.11.x is not let in.
    """
    peer, ours = _address(remote), _address(local)
    if peer is None:
        return False
    if peer in AP_NETWORK and ours == AP_ADDRESS.ip:
        return True
    if allow_loopback:
        mapped = getattr(peer, "ipv4_mapped", None)
        return peer.is_loopback or (mapped is not None and mapped.is_loopback)
    return False


def wanted_ethernet(meter: MeterSettings, interface: str = "eth0") -> EthernetConfig:
    return EthernetConfig(
        IPv4Interface(f"{meter.ip_address}/{meter.prefix_length}"), meter.gateway, interface
    )


async def apply_meter_address(
    network: NetworkManager, meter: MeterSettings, interface: str = "eth0"
) -> bool:
    """Give the Ethernet port the Modbus TCP meter's address, if it has another one now."""
    wanted = wanted_ethernet(meter, interface)
    state = await network.ipv4_state(interface)
    if state.addresses[:1] == (wanted.address,) and state.gateway == wanted.gateway:
        return False
    await network.add_connection(ethernet_settings(wanted))
    await network.activate(ethernet_settings(wanted)["connection.id"])
    log.info("Ethernet address set to %s (gateway %s)", wanted.address, wanted.gateway)
    return True
