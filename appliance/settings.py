"""One typed, validated settings model with every setting of both manuals, persisted atomically.

The file is JSON. A missing file means factory defaults; a corrupt or invalid file raises
`SettingsError` and is left untouched, so a power cut can never turn into silent defaults.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from appliance.atomic import write_atomic
from appliance.errors import SettingsError
from appliance.modes import ECO_PLUS, ChargeMode, capacity_max_kw

SCHEMA_VERSION = 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class GridSettings(_Section):
    """SCC manual 6.1.1, plus the network type and rotation of the CT path."""

    phases: Literal[1, 3] = Field(3, description="Number of phases of the grid connection")
    max_charge_current_a: Annotated[int, Field(ge=6, le=80)] = Field(
        32, description="Max charge current (A); the same value as the charger's grid limit"
    )
    min_charge_current_a: Annotated[int, Field(ge=6, le=32)] = Field(
        6, description="Min charge current (A) the EV accepts (IEC 61851: 6 A)"
    )
    charger_startup_time_s: Annotated[int, Field(ge=5, le=600)] = Field(
        90, description="Longest wait for the charge current after offering the minimum (s)"
    )
    current_detection_time_s: Annotated[int, Field(ge=5, le=600)] = Field(
        90, description="Window in which a grid step is attributed to the charger (s)"
    )
    metering_device: Literal["ct", "p1"] = Field("ct", description="Grid metering device")
    ct_ratio: Annotated[int, Field(ge=100, le=10000)] = Field(2000, description="CT ratio")
    network: Literal["single", "star", "delta"] = Field(
        "star", description="Network type: 1-phase, 3-phase star (4-wire), 3-phase delta (3-wire)"
    )
    rotation: Literal["right", "left"] = Field("right", description="Phase rotation (star)")

    @model_validator(mode="after")
    def _consistent(self) -> GridSettings:
        if self.min_charge_current_a > self.max_charge_current_a:
            raise ValueError("min charge current must not exceed max charge current")
        if self.phases == 1 and self.network != "single":
            raise ValueError("a 1-phase grid needs network type 'single'")
        if self.phases == 3 and self.network == "single":
            raise ValueError("a 3-phase grid needs network type 'star' or 'delta'")
        return self


class ChannelCalibration(_Section):
    gain: Annotated[float, Field(gt=0.5, lt=2.0)] = 1.0
    phase_deg: Annotated[float, Field(ge=-10.0, le=10.0)] = 0.0
    offset: Annotated[float, Field(ge=-0.1, le=0.1)] = 0.0


class MeteringSettings(_Section):
    """Our own: which ADC, the burden, per-channel calibration, the P1 input source."""

    adc: Literal["mcp3208", "ads131m04"] = "mcp3208"
    burden_ohm: Annotated[float, Field(gt=0, le=200)] = Field(
        20.0, description="CT burden: 40 ohm gives 1..40 A (CSP1+), 20 ohm 1..80 A (SCC)"
    )
    voltage: ChannelCalibration = ChannelCalibration()
    current: tuple[ChannelCalibration, ChannelCalibration, ChannelCalibration] = (
        ChannelCalibration(),
        ChannelCalibration(),
        ChannelCalibration(),
    )
    p1_source: str = Field(
        "/dev/ttyAMA0", description="Smart meter P1 input: a serial port or tcp://host:port"
    )
    p1_baudrate: Literal[9600, 115200] = 115200
    stale_after_s: Annotated[float, Field(ge=2, le=10)] = Field(
        10, description="Grid data older than this feeds the fail-safe"
    )


class MeterSettings(_Section):
    """SCC manual 6.1.2 (meter to emulate, IP address, Modbus port) plus the RTU side."""

    emulate: str = Field("emu_professional", description="Meter to emulate (a register map name)")
    ip_address: IPv4Address = Field(IPv4Address("192.168.1.50"), description="IP address")
    prefix_length: Annotated[int, Field(ge=8, le=30)] = 24
    gateway: IPv4Address | None = None
    modbus_port: Annotated[int, Field(ge=1, le=65535)] = Field(502, description="Modbus port")
    address_offset: Literal[0, -1] = Field(
        0, description="-1 for chargers that count registers from 1"
    )
    rtu_enabled: bool = True
    rtu_port: str = "/dev/ttyAMA3"
    rtu_baudrate: Literal[2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    rtu_parity: Literal["N", "E", "O"] = "N"
    rtu_stopbits: Literal[1, 2] = 1
    rtu_unit: Annotated[int, Field(ge=1, le=247)] = 1

    @field_validator("emulate")
    @classmethod
    def _known_name(cls, value: str) -> str:
        if not value.replace("_", "").isalnum():
            raise ValueError("meter name must be letters, digits and underscores")
        return value


class WifiSettings(_Section):
    """SCC manual 6.1.3: the home router connection (for updates and remote control)."""

    ssid: Annotated[str, Field(max_length=32)] = ""
    password: str = ""
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "BE"

    @field_validator("ssid")
    @classmethod
    def _ssid_bytes(cls, value: str) -> str:
        if len(value.encode()) > 32:
            raise ValueError("an SSID is at most 32 bytes")
        if any(ord(ch) < 32 for ch in value):
            raise ValueError("an SSID cannot contain control characters")
        return value

    @field_validator("password")
    @classmethod
    def _wpa_passphrase(cls, value: str) -> str:
        if value and not 8 <= len(value) <= 63:
            raise ValueError("a WPA2 password has 8 to 63 characters")
        if any(not 32 <= ord(ch) < 127 for ch in value):
            raise ValueError("a WPA2 password uses printable ASCII only")
        return value


class P1OutputSettings(_Section):
    """CSP1+ job: the P1 telegram output towards the charger."""

    enabled: bool = True
    port: str = "/dev/ttyAMA0"
    profile: Literal["csp1", "dsmr5"] = "csp1"
    send_without_request: bool = False
    tcp_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        0, description="Serve the telegram stream on this TCP port (0 = off)"
    )


class ControlSettings(_Section):
    mode: str = Field(ECO_PLUS.to_str(), description="Selected charge mode")
    capacity_averaging: Literal["quarter", "instantaneous"] = Field(
        "quarter", description="CAPACITY limits the 15-minute average import, or every second"
    )

    @field_validator("mode")
    @classmethod
    def _parsable(cls, value: str) -> str:
        return ChargeMode.parse(value).to_str()

    @property
    def charge_mode(self) -> ChargeMode:
        return ChargeMode.parse(self.mode)


class RemoteSettings(_Section):
    """Home-network access: dashboard, API and MQTT."""

    read_only_open: bool = True
    password_hash: str = ""  # set during commissioning; empty = no changes from the network
    mqtt_host: str = ""
    mqtt_port: Annotated[int, Field(ge=1, le=65535)] = 1883
    mqtt_username: str = ""
    mqtt_password: str = ""
    mqtt_prefix: str = "scc"


class UpdateSettings(_Section):
    url: str = ""  # release bundle index on the home network or the internet


class Settings(_Section):
    schema_version: int = SCHEMA_VERSION
    grid: GridSettings = GridSettings()
    metering: MeteringSettings = MeteringSettings()
    meter: MeterSettings = MeterSettings()
    wifi: WifiSettings = WifiSettings()
    p1: P1OutputSettings = P1OutputSettings()
    control: ControlSettings = ControlSettings()
    remote: RemoteSettings = RemoteSettings()
    update: UpdateSettings = UpdateSettings()

    @model_validator(mode="after")
    def _mode_fits_grid(self) -> Settings:
        mode = self.control.charge_mode
        top = capacity_max_kw(self.grid.phases, self.grid.max_charge_current_a)
        if mode.capacity_kw > top:
            raise ValueError(
                f"CAPACITY {mode.capacity_kw} kW exceeds what the charger can take ({top} kW)"
            )
        return self

    def with_mode(self, mode: ChargeMode) -> Settings:
        return self.model_validate(
            self.model_dump() | {"control": self.control.model_dump() | {"mode": mode.to_str()}}
        )

    def with_section(self, name: str, section: BaseModel) -> Settings:
        """A copy with one section replaced, validated as a whole."""
        return self.model_validate(self.model_dump() | {name: section.model_dump()})


def describe_errors(error: ValidationError) -> dict[str, str]:
    """Validation errors as `dotted.field -> message`, for forms and the command line."""
    out: dict[str, str] = {}
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "__root__"
        out[key] = str(item["msg"]).removeprefix("Value error, ")
    return out


class SettingsStore:
    """Loads and saves `Settings` at one path, atomically (temp file, fsync, rename, fsync dir)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Settings:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        except OSError as exc:
            raise SettingsError(f"cannot read settings {self.path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(
                f"settings {self.path} are not valid JSON (line {exc.lineno}: {exc.msg}); "
                "fix or remove the file, or run a factory reset"
            ) from exc
        try:
            return Settings.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {v}" for k, v in describe_errors(exc).items())
            raise SettingsError(f"settings {self.path} are invalid: {problems}") from exc

    def save(self, settings: Settings) -> None:
        write_atomic(self.path, settings.model_dump_json(indent=2).encode() + b"\n")
