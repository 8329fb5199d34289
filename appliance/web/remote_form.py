"""The "Remote access" commissioning form: the device password, open read access, the MQTT broker.

The password is not a settings field: the form takes it twice, checks the policy of
`appliance.remote.auth`, and the page stores only its hash. Empty password fields keep what is
stored (the device password and the broker password alike), so the form can be saved again
without retyping secrets. Nothing here does I/O or hashing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from appliance.remote.auth import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordPolicyError,
    check_password_policy,
)
from appliance.settings import Settings
from appliance.web.forms import Choice, FormField, FormOutcome, FormPage, submit_form

# Form field names (not secrets).
NEW_PASSWORD = "new_password"  # noqa: S105
REPEAT_PASSWORD = "repeat_password"  # noqa: S105
MQTT_PASSWORD = "mqtt_password"  # noqa: S105
_NOT_IN_MODEL = {NEW_PASSWORD, REPEAT_PASSWORD, MQTT_PASSWORD}
MAX_TEXT = 128
MAX_PREFIX = 64

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
# Topic levels without MQTT wildcards, so the prefix is a valid topic for publishing.
_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")

REMOTE_PAGE = FormPage(
    slug="remote",
    title="Remote access settings",
    section="remote",
    submit="Update remote access",
    intro="The dashboard, the REST API and Home Assistant reach the SCC over the home network.",
    fields=(
        FormField(
            NEW_PASSWORD,
            "New device password",
            "password",
            help_text=f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters. Needed to "
            "change the charge mode from the dashboard or the API. Leave both fields empty to "
            "keep the password.",
            autocomplete="new-password",
        ),
        FormField(REPEAT_PASSWORD, "Repeat the password", "password", autocomplete="new-password"),
        FormField(
            "read_only_open",
            "Dashboard without login",
            "radio",
            choices=(Choice("True", "Open on the home network"), Choice("False", "Log in first")),
            help_text="Whether anyone on the home network may see the live values.",
        ),
        FormField(
            "mqtt_host",
            "MQTT broker",
            "text",
            help_text="Host name or address, e.g. homeassistant.local. Empty: no MQTT.",
        ),
        FormField("mqtt_port", "MQTT port", "number", minimum=1, maximum=65535),
        FormField(
            "mqtt_username",
            "MQTT user name",
            "text",
            help_text="Empty for a broker that lets anyone in.",
        ),
        FormField(
            MQTT_PASSWORD,
            "MQTT password",
            "password",
            help_text="Leave empty to keep the stored one.",
            autocomplete="new-password",
        ),
        FormField(
            "mqtt_prefix",
            "MQTT topic prefix",
            "text",
            help_text="Topics start with this, e.g. scc/state.",
        ),
    ),
)

# The fields the settings model validates itself (the rest are checked here).
_MODEL_PAGE = dataclasses.replace(
    REMOTE_PAGE,
    fields=tuple(f for f in REMOTE_PAGE.fields if f.name not in _NOT_IN_MODEL),
)


@dataclass
class RemoteOutcome:
    form: FormOutcome
    new_password: str | None = None  # to hash and store; None keeps the stored hash


def _text_problem(text: str, limit: int) -> str:
    if len(text) > limit:
        return f"At most {limit} characters."
    if not text.isprintable():
        return "Contains a character that is not allowed."
    return ""


def _host_problem(host: str) -> str:
    if host == "":
        return ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.match(host):
            return "Enter a host name such as homeassistant.local or an address."
    return ""


def _prefix_problem(prefix: str) -> str:
    if not prefix:
        return "Required."
    if len(prefix) > MAX_PREFIX:
        return f"At most {MAX_PREFIX} characters."
    if not _PREFIX.match(prefix):
        return "Letters, digits, - and _, levels separated by / (no + or #)."
    return ""


def _password_problems(form: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    new, repeat = form.get(NEW_PASSWORD, ""), form.get(REPEAT_PASSWORD, "")
    if new == "" and repeat == "":
        return {}, None
    if new == "":
        return {NEW_PASSWORD: "Enter the new password here too."}, None
    try:
        check_password_policy(new)
    except PasswordPolicyError as exc:
        return {NEW_PASSWORD: str(exc).capitalize() + "."}, None
    if repeat != new:
        return {REPEAT_PASSWORD: "The two passwords differ."}, None
    return {}, new


def submit_remote_form(current: Settings, form: Mapping[str, str]) -> RemoteOutcome:
    """Validate the posted form against the settings in force; nothing is stored or hashed."""
    trimmed = dict(form)
    for name in ("mqtt_host", "mqtt_prefix", "mqtt_username"):
        if name in trimmed:
            trimmed[name] = trimmed[name].strip()
    outcome = submit_form(_MODEL_PAGE, current, trimmed)
    errors = outcome.errors

    checks = {
        "mqtt_host": _host_problem(trimmed.get("mqtt_host", "")),
        "mqtt_prefix": _prefix_problem(trimmed.get("mqtt_prefix", "")),
        "mqtt_username": _text_problem(trimmed.get("mqtt_username", ""), MAX_TEXT),
        MQTT_PASSWORD: _text_problem(form.get(MQTT_PASSWORD, ""), MAX_TEXT),
    }
    for name, problem in checks.items():
        if problem:
            errors.setdefault(name, problem)
    password_errors, new_password = _password_problems(form)
    errors.update(password_errors)

    if errors or outcome.settings is None:
        outcome.settings = None
        return RemoteOutcome(outcome)
    mqtt_password = form.get(MQTT_PASSWORD, "")
    if mqtt_password:
        outcome.settings = outcome.settings.model_copy(
            update={
                "remote": outcome.settings.remote.model_copy(
                    update={"mqtt_password": mqtt_password}
                )
            }
        )
    return RemoteOutcome(outcome, new_password)


def with_password_hash(settings: Settings, password_hash: str) -> Settings:
    remote = settings.remote.model_copy(update={"password_hash": password_hash})
    return settings.model_copy(update={"remote": remote})
