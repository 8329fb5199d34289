"""The three commissioning forms (SCC manual 6.1) as tables, and their server-side validation.

Validation is the settings model's own (pydantic): a form is merged into a copy of the settings
in force and validated as a whole, and every error is turned into a short message next to the
field it concerns. Ranges shown on the pages come from the same model, so they cannot drift.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from appliance.modbus.maps import available_maps
from appliance.modes import ChargeMode, ModeKind, available_modes, capacity_max_kw
from appliance.settings import GridSettings, MeterSettings, Settings

FieldKind = Literal["number", "select", "radio", "ipv4", "text", "password"]


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    name: str  # the field's name in its settings section
    label: str
    kind: FieldKind
    unit: str = ""
    help_text: str = ""
    choices: tuple[Choice, ...] = ()
    optional: bool = False  # an empty value means "none" (stored as null)
    minimum: int | None = None
    maximum: int | None = None
    autocomplete: str = "off"
    integer_choices: bool = False  # the model wants a number (e.g. Literal[1, 3])

    @property
    def range_text(self) -> str:
        if self.minimum is None or self.maximum is None:
            return ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.minimum}–{self.maximum}{unit}"


@dataclass(frozen=True, slots=True)
class FormPage:
    slug: str
    title: str  # tab and heading
    section: str  # the settings section the page edits
    fields: tuple[FormField, ...]
    submit: str
    intro: str = ""
    # Section-level errors (cross-field rules of the model) are shown next to this field.
    section_error_field: str = ""

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)


@dataclass
class FormOutcome:
    values: dict[str, str]  # what the form shows again (never a password)
    errors: dict[str, str] = field(default_factory=dict)
    form_error: str = ""
    notices: list[str] = field(default_factory=list)
    settings: Settings | None = None

    @property
    def ok(self) -> bool:
        return self.settings is not None


def _bounds(model: type[BaseModel], name: str) -> tuple[int | None, int | None]:
    low: int | None = None
    high: int | None = None
    for item in model.model_fields[name].metadata:
        if isinstance(item, Ge):
            low = int(item.ge)  # type: ignore[call-overload]
        elif isinstance(item, Le):
            high = int(item.le)  # type: ignore[call-overload]
    return low, high


def _number(
    model: type[BaseModel], name: str, label: str, unit: str = "", help_text: str = ""
) -> FormField:
    low, high = _bounds(model, name)
    return FormField(name, label, "number", unit, help_text=help_text, minimum=low, maximum=high)


def meter_choices() -> tuple[Choice, ...]:
    """The meters the Modbus part can emulate, as (name, title) choices."""
    return tuple(Choice(m.name, m.title) for m in available_maps())


GRID_PAGE = FormPage(
    slug="grid",
    title="Grid settings",
    section="grid",
    submit="Update grid settings",
    section_error_field="min_charge_current_a",
    fields=(
        FormField(
            "phases",
            "Number of phases",
            "radio",
            choices=(Choice("1", "1"), Choice("3", "3")),
            integer_choices=True,
        ),
        _number(
            GridSettings,
            "max_charge_current_a",
            "Max charge current",
            "A",
            "The same value as the grid limit set in the EV charger.",
        ),
        _number(GridSettings, "min_charge_current_a", "Min charge current", "A"),
        _number(GridSettings, "charger_startup_time_s", "Charger startup time", "s"),
        _number(GridSettings, "current_detection_time_s", "Charger current detection time", "s"),
        FormField(
            "metering_device",
            "Grid metering device",
            "select",
            choices=(
                Choice("ct", "CT transformer(s) on the SCC"),
                Choice("p1", "Smart meter P1 port"),
            ),
        ),
        _number(
            GridSettings, "ct_ratio", "CT ratio", help_text="Turns ratio, e.g. 2000 for 2000:1."
        ),
    ),
)


def meter_page(choices: tuple[Choice, ...]) -> FormPage:
    port_low, port_high = _bounds(MeterSettings, "modbus_port")
    return FormPage(
        slug="meter",
        title="Meter settings",
        section="meter",
        submit="Update meter settings",
        intro="The charger reads the meter it knows over Modbus TCP at this address and port.",
        fields=(
            FormField("emulate", "Meter to emulate", "select", choices=choices),
            FormField(
                "ip_address",
                "IP address",
                "ipv4",
                help_text="Static address of this device's Ethernet port.",
            ),
            _number(
                MeterSettings, "prefix_length", "Prefix length", help_text="24 means 255.255.255.0."
            ),
            FormField(
                "gateway",
                "Gateway",
                "ipv4",
                help_text="Optional: the router's address.",
                optional=True,
            ),
            FormField(
                "modbus_port",
                "Modbus port",
                "number",
                help_text="502 is the Modbus TCP standard.",
                minimum=port_low,
                maximum=port_high,
            ),
        ),
    )


WIFI_PAGE = FormPage(
    slug="wifi",
    title="Wi-Fi settings",
    section="wifi",
    submit="Connect",
    intro="Connects the SCC to the home router, for software updates and remote control.",
    fields=(
        FormField("ssid", "Network (SSID)", "text", autocomplete="off"),
        FormField(
            "password",
            "Password",
            "password",
            help_text="Leave empty for an open network.",
            autocomplete="new-password",
        ),
    ),
)


_MESSAGES: dict[str, str] = {
    "missing": "Required.",
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "greater_than_equal": "Must be at least {ge}{unit}.",
    "less_than_equal": "Must be at most {le}{unit}.",
    "literal_error": "Choose one of the options.",
    "ip_v4_address": "Enter an IPv4 address such as 192.168.1.50.",
    "ip_any_address": "Enter an IPv4 address such as 192.168.1.50.",
    "string_too_long": "At most {max_length} characters.",
}


def _message(error: ErrorDetails, form_field: FormField | None) -> str:
    template = _MESSAGES.get(error["type"])
    if template is not None:
        unit = f" {form_field.unit}" if form_field is not None and form_field.unit else ""
        return template.format(unit=unit, **error.get("ctx", {}))
    text = str(error["msg"]).removeprefix("Value error, ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def submit_form(page: FormPage, current: Settings, form: Mapping[str, str]) -> FormOutcome:
    """Merge a posted form into the settings in force and validate; nothing is stored here."""
    values = {f.name: form.get(f.name, "") for f in page.fields if f.kind != "password"}
    outcome = FormOutcome(values=values)
    section = dict(current.model_dump()[page.section])
    for form_field in page.fields:
        problem, value = _read_field(form_field, form.get(form_field.name))
        if problem:
            outcome.errors[form_field.name] = problem  # the model checks the other fields
        else:
            section[form_field.name] = value

    data = current.model_dump()
    if page.section == "grid":
        # The manual's form only asks for the number of phases; the CT path's network type
        # follows it (a 3-phase grid keeps its star or delta choice).
        if section["phases"] == 1:
            section["network"] = "single"
        elif section["network"] == "single":
            section["network"] = "star"
        notice = _fit_mode(data, section)
        if notice:
            outcome.notices.append(notice)
    data[page.section] = section
    try:
        validated = Settings.model_validate(data)
    except ValidationError as exc:
        _collect_errors(page, exc, outcome)
        _cross_field_errors(page, current, section, outcome)
    else:
        outcome.settings = None if outcome.errors else validated
    return outcome


def _cross_field_errors(
    page: FormPage, current: Settings, section: dict[str, Any], outcome: FormOutcome
) -> None:
    """The model's cross-field rules run only when every field is valid on its own; rerun them
    with the bad fields at their stored values, so the installer sees every problem at once."""
    if not page.section_error_field or page.section_error_field in outcome.errors:
        return
    stored = current.model_dump()[page.section]
    retry = section | {name: stored[name] for name in outcome.errors if name in stored}
    try:
        Settings.model_validate(current.model_dump() | {page.section: retry})
    except ValidationError as exc:
        for error in exc.errors():
            if error["loc"] == (page.section,):
                outcome.errors[page.section_error_field] = _message(error, None)


def _read_field(form_field: FormField, raw: str | None) -> tuple[str, Any]:
    """(problem, value) for one posted field, before the model sees it."""
    if raw is None:
        return "Required.", None
    text = raw if form_field.kind in {"password", "text"} else raw.strip()
    if "\x00" in text:
        return "Contains a character that is not allowed.", None
    if form_field.choices and text not in {c.value for c in form_field.choices}:
        return "Choose one of the options.", None
    if form_field.kind in {"number", "ipv4"} and text == "" and not form_field.optional:
        return "Required.", None
    if form_field.integer_choices:
        return "", int(text)
    return "", None if (form_field.optional and text == "") else text


def _fit_mode(data: dict[str, Any], grid: dict[str, Any]) -> str:
    """A CAPACITY level above what the new grid allows is lowered to the highest one left."""
    try:
        phases = int(grid["phases"])
        max_current = int(grid["max_charge_current_a"])
    except (TypeError, ValueError):
        return ""  # the field errors say what is wrong
    modes = available_modes(phases, max_current)
    current = ChargeMode.parse(data["control"]["mode"])
    if current.kind is not ModeKind.CAPACITY or current in modes:
        return ""
    top = capacity_max_kw(phases, max_current)
    fitting = [m for m in modes if m.kind is ModeKind.CAPACITY]
    new = fitting[-1] if fitting else modes[1]  # ECO when no CAPACITY level fits at all
    data["control"] = data["control"] | {"mode": new.to_str()}
    return f"Charge mode {current.label} exceeds {top} kW: changed to {new.label}."


def _collect_errors(page: FormPage, exc: ValidationError, outcome: FormOutcome) -> None:
    names = {f.name for f in page.fields}
    for error in exc.errors():
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] == page.section and loc[1] in names:
            name = str(loc[1])
            outcome.errors.setdefault(name, _message(error, page.field(name)))
        elif len(loc) == 1 and loc[0] == page.section and page.section_error_field:
            outcome.errors.setdefault(page.section_error_field, _message(error, None))
        else:
            outcome.form_error = _message(error, None)


def form_values(page: FormPage, settings: Settings) -> dict[str, str]:
    """The settings in force as form text (passwords are never sent back to the browser)."""
    section = getattr(settings, page.section)
    values: dict[str, str] = {}
    for form_field in page.fields:
        if form_field.kind == "password":
            continue
        value = getattr(section, form_field.name)
        values[form_field.name] = "" if value is None else str(value)
    return values


__all__ = [
    "GRID_PAGE",
    "WIFI_PAGE",
    "Choice",
    "FormField",
    "FormOutcome",
    "FormPage",
    "form_values",
    "meter_choices",
    "meter_page",
    "submit_form",
]
