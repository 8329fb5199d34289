"""A runtime context with NetworkManager's fake twin, shared by the web and commissioning tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appliance.clock import FakeClock
from appliance.commissioning import NetworkCommissioning
from appliance.identity import DeviceIdentity
from appliance.runtime.context import Hub, RuntimeContext, SettingsHolder
from appliance.settings import SettingsStore
from drivers.network import FakeNetworkManager, Ipv4State, WifiNetwork
from drivers.pinmap import load_pinmap

DEVICE_NUMBER = "1234567890"
FIXED_CODE = "40718263"
HOME_SSID = "HomeNetwork"
HOME_PASSWORD = "correct horse"


@dataclass
class Appliance:
    ctx: RuntimeContext
    network: FakeNetworkManager
    commissioning: NetworkCommissioning
    clock: FakeClock
    store: SettingsStore


def build_appliance(state_dir: Path, clock: FakeClock, *, simulate: bool = True) -> Appliance:
    store = SettingsStore(state_dir / "settings.json")
    network = FakeNetworkManager(
        scan_results=[
            WifiNetwork(HOME_SSID, 80, secured=True),
            WifiNetwork("Café: 2nd floor", 35, secured=False),
        ],
        home_networks={HOME_SSID: HOME_PASSWORD},
        ipv4={"eth0": Ipv4State()},
    )
    ctx = RuntimeContext(
        settings=SettingsHolder(store, store.load()),
        hub=Hub(),
        clock=clock,
        identity=DeviceIdentity(DEVICE_NUMBER),
        pinmap=load_pinmap(),
        pin_factory=None,
        state_dir=state_dir,
        simulate=simulate,
    )
    service = NetworkCommissioning(
        network,
        ctx.identity,
        clock,
        lambda: ctx.settings.current,
        code_factory=lambda: FIXED_CODE,
    )
    ctx.services["network"] = network
    ctx.services["commissioning"] = service
    return Appliance(ctx, network, service, clock, store)
