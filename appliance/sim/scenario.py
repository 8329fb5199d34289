"""Grid scenarios: what the simulated HAT measures, read from a TOML file (docs/scenarios.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from appliance.errors import ScenarioError
from appliance.settings import GridSettings, Settings, describe_errors


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridSpec(_Model):
    """Mains voltage and frequency. Profiles are [time_s, value] points."""

    voltage_v: Annotated[float, Field(ge=0, le=300)] = 230.0
    frequency_hz: Annotated[float, Field(ge=45, le=65)] = 50.0
    # Piecewise-linear voltage; overrides voltage_v.
    voltage_profile: list[tuple[float, Annotated[float, Field(ge=0, le=300)]]] | None = None
    # Steps: each frequency holds until the next point; overrides frequency_hz.
    frequency_profile: list[tuple[float, Annotated[float, Field(ge=45, le=65)]]] | None = None


class LoadSpec(_Model):
    """One load (or generator, with direction = "export") on one phase, or on all three."""

    name: str = "load"
    phase: Literal[1, 2, 3, "all"] = 1
    current_a: Annotated[float, Field(ge=0, le=200)] = 0.0  # true RMS, harmonics included
    # Piecewise-linear current over time; overrides current_a.
    profile: list[tuple[float, Annotated[float, Field(ge=0, le=200)]]] | None = None
    power_factor: Annotated[float, Field(ge=0, le=1)] = 1.0  # of the fundamental
    reactive: Literal["lagging", "leading"] = "lagging"
    direction: Literal["import", "export"] = "import"
    # Harmonic order -> amplitude relative to the fundamental, e.g. {3 = 0.8, 5 = 0.6}.
    harmonics: dict[Annotated[int, Field(ge=2, le=50)], Annotated[float, Field(ge=0, le=2)]] = {}
    start_s: Annotated[float, Field(ge=0)] = 0.0
    stop_s: float | None = None
    cycle_s: Annotated[float, Field(gt=0)] | None = None  # on/off cycling (fridge, heat pump)
    on_s: Annotated[float, Field(gt=0)] | None = None
    jitter: Annotated[float, Field(ge=0, le=0.5)] = 0.0  # relative random change, per second

    @model_validator(mode="after")
    def _consistent(self) -> LoadSpec:
        if (self.cycle_s is None) != (self.on_s is None):
            raise ValueError("cycle_s and on_s go together")
        if self.cycle_s is not None and self.on_s is not None and self.on_s > self.cycle_s:
            raise ValueError("on_s cannot exceed cycle_s")
        if self.stop_s is not None and self.stop_s <= self.start_s:
            raise ValueError("stop_s must come after start_s")
        return self


FaultKind = Literal["ct_unplugged", "voltage_lost", "miso_errors", "chip_dead", "drop_drdy"]


class FaultSpec(_Model):
    kind: FaultKind
    phase: Literal[1, 2, 3] | None = None  # ct_unplugged: which CT
    bit_error_rate: Annotated[float, Field(gt=0, le=0.5)] = 1e-3  # miso_errors
    start_s: Annotated[float, Field(ge=0)] = 0.0
    stop_s: float | None = None

    @model_validator(mode="after")
    def _phase_given(self) -> FaultSpec:
        if self.kind == "ct_unplugged" and self.phase is None:
            raise ValueError("ct_unplugged needs the phase (1, 2 or 3) of the CT")
        return self

    def active(self, time_s: float) -> bool:
        return self.start_s <= time_s and (self.stop_s is None or time_s < self.stop_s)


class Scenario(_Model):
    name: str
    description: str = ""
    seed: int = 0
    duration_s: Annotated[float, Field(gt=0)] | None = None  # None: runs until stopped
    network: Literal["single", "star", "delta"] = "star"
    rotation: Literal["right", "left"] = "right"
    grid: GridSpec = GridSpec()
    loads: list[LoadSpec] = Field(default_factory=list, alias="load")
    faults: list[FaultSpec] = Field(default_factory=list, alias="fault")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _phases_exist(self) -> Scenario:
        for load in self.loads:
            if self.network == "single" and load.phase in (2, 3, "all"):
                raise ValueError(f"load {load.name!r}: a single-phase grid has only phase 1")
            if self.network == "delta" and load.phase in (2, "all"):
                raise ValueError(
                    f"load {load.name!r}: in a 3-wire delta grid the L2 current is what L1 and L3"
                    " return; describe loads on phases 1 and 3"
                )
        return self

    @property
    def phase_count(self) -> Literal[1, 3]:
        return 1 if self.network == "single" else 3

    def apply_to(self, settings: Settings) -> Settings:
        """The settings with the grid this scenario describes (phases, network, rotation)."""
        grid = settings.grid.model_dump() | {
            "phases": self.phase_count,
            "network": self.network,
            "rotation": self.rotation,
        }
        return settings.with_section("grid", GridSettings.model_validate(grid))


def parse_scenario(text: str, origin: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario {origin} is not valid TOML: {exc}") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in describe_errors(exc).items())
        raise ScenarioError(f"scenario {origin} is invalid: {problems}") from exc


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; a clear `ScenarioError` if it cannot be used."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from exc
    return parse_scenario(text, str(path))
