"""The REST API's OpenAPI 3.1 description: the contract the handlers and the tests share."""

from __future__ import annotations

from typing import Any

from appliance import __version__

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
_PHASE = {
    "type": "object",
    "required": ["current_a", "signed_current_a", "power_w", "voltage_v", "direction"],
    "properties": {
        "current_a": {"type": "number", "minimum": 0},
        "signed_current_a": {"type": "number"},
        "power_w": {"type": "number"},
        "voltage_v": {"type": "number"},
        "power_factor": {"type": "number"},
        "direction": {"enum": ["import", "export", "none"]},
        "faults": {"type": "array", "items": {"type": "string"}},
    },
}
_READING = {
    "type": "object",
    "required": ["source", "time", "age_s", "valid", "phases"],
    "properties": {
        "source": {"enum": ["ct", "p1"]},
        "time": {"type": "number"},
        "age_s": {"type": "number"},
        "valid": {"type": "boolean"},
        "frequency_hz": _NUMBER_OR_NULL,
        "phase_count": {"type": "integer"},
        "faults": {"type": "array", "items": {"type": "string"}},
        "total_power_w": {"type": "number"},
        "import_energy_kwh": {"type": "number"},
        "export_energy_kwh": {"type": "number"},
        "phases": {"type": "array", "items": _PHASE, "minItems": 3, "maxItems": 3},
    },
}
_REPORTED = {
    "type": "object",
    "required": ["time", "failsafe", "phases"],
    "properties": {
        "time": {"type": "number"},
        "failsafe": {"type": "boolean"},
        "frequency_hz": {"type": "number"},
        "total_current_a": {"type": "number"},
        "total_power_w": {"type": "number"},
        "phases": {
            "type": "array",
            "minItems": 3,
            "maxItems": 3,
            "items": {
                "type": "object",
                "required": ["current_a", "voltage_v", "power_w", "apparent_power_va"],
                "properties": {
                    "current_a": {"type": "number", "minimum": 0},
                    "voltage_v": {"type": "number"},
                    "power_w": {"type": "number"},
                    "apparent_power_va": {"type": "number"},
                },
            },
        },
    },
}
_MODE = {
    "type": "object",
    "required": ["mode", "label", "available"],
    "properties": {
        "mode": {"type": "string", "examples": ["eco+", "eco", "capacity:7"]},
        "label": {"type": "string"},
        "available": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["mode", "label"],
                "properties": {"mode": {"type": "string"}, "label": {"type": "string"}},
            },
        },
    },
}
_MODE_CHANGE = {
    "type": "object",
    "required": ["mode"],
    "additionalProperties": False,
    "properties": {"mode": {"type": "string", "maxLength": 32}},
}
_LOGIN = {
    "type": "object",
    "required": ["password"],
    "additionalProperties": False,
    "properties": {"password": {"type": "string", "maxLength": 128}},
}
_TOKEN = {
    "type": "object",
    "required": ["token", "expires_in_s"],
    "properties": {"token": {"type": "string"}, "expires_in_s": {"type": "number"}},
}
_HEALTH = {
    "type": "object",
    "required": ["status", "version", "failsafe"],
    "properties": {
        "status": {"enum": ["ok", "degraded", "starting"]},
        "version": {"type": "string"},
        "failsafe": {"type": "boolean"},
        "reading_age_s": _NUMBER_OR_NULL,
        "faults": {"type": "array", "items": {"type": "string"}},
    },
}
_OBJECT = {"type": "object"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json({"$ref": "#/components/schemas/Error"}, description)


def _read(
    summary: str, schema: dict[str, Any], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": _json(schema, summary),
        "401": _error("Read-only access is closed on this device: log in first"),
    }
    return {"get": {"summary": summary, "responses": responses | (extra or {})}}


def openapi_document() -> dict[str, Any]:
    ref = "#/components/schemas/"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scc-appliance",
            "version": __version__,
            "description": "Readings, the values reported to the charger, the charge mode and "
            "the device's health. Reads may be open on the home network (a setting); changes "
            "need a bearer token from /api/login.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "Reading": _READING,
                "Reported": _REPORTED,
                "Mode": _MODE,
                "ModeChange": _MODE_CHANGE,
                "Login": _LOGIN,
                "Token": _TOKEN,
                "Health": _HEALTH,
            },
        },
        "paths": {
            "/api/health": _read("Health of measurement and control", {"$ref": ref + "Health"}),
            "/api/versions": _read("Software versions", _OBJECT),
            "/api/readings": _read(
                "The newest grid reading",
                {"$ref": ref + "Reading"},
                {"503": _error("No reading yet")},
            ),
            "/api/reported": _read(
                "What the charger is told now",
                {"$ref": ref + "Reported"},
                {"503": _error("Nothing reported yet")},
            ),
            "/api/history": {
                "get": {
                    "summary": "The last hour, one point per second",
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "number", "minimum": 0},
                            "description": "Only points newer than this Unix time",
                        }
                    ],
                    "responses": {
                        "200": _json(_OBJECT, "Columns of equal length"),
                        "400": _error("Bad query"),
                        "401": _error("Read-only access is closed: log in first"),
                    },
                }
            },
            "/api/settings": _read("Settings in force (passwords omitted)", _OBJECT),
            "/api/control": _read(
                "The controller's state", _OBJECT, {"503": _error("Controller not running")}
            ),
            "/api/modbus/log": _read(
                "Recent Modbus requests", _OBJECT, {"503": _error("Modbus not running")}
            ),
            "/api/leds": _read(
                "The LEDs as they are lit now",
                {
                    "type": "object",
                    "required": ["pwr", "cs", "p1"],
                    "properties": {k: {"type": "boolean"} for k in ("pwr", "cs", "p1")},
                },
                {"503": _error("LEDs not running")},
            ),
            "/api/panel.png": {
                "get": {
                    "summary": "The OLED picture as it is shown now (128 x 64 PNG)",
                    "responses": {
                        "200": {
                            "description": "PNG image",
                            "content": {"image/png": {"schema": {"type": "string"}}},
                        },
                        "401": _error("Read-only access is closed: log in first"),
                        "503": _error("Front panel not running"),
                    },
                }
            },
            "/api/mode": {
                "get": _read("The charge mode", {"$ref": ref + "Mode"})["get"],
                "put": {
                    "summary": "Change the charge mode (same effect as the buttons)",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": ref + "ModeChange"}}},
                    },
                    "responses": {
                        "200": _json({"$ref": ref + "Mode"}, "The mode in force"),
                        "400": _error("Unknown mode, or not offered for this charger"),
                        "401": _error("Missing or invalid token"),
                        "415": _error("Body must be JSON"),
                    },
                },
            },
            "/api/login": {
                "post": {
                    "summary": "Exchange the device password for a bearer token",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": ref + "Login"}}},
                    },
                    "responses": {
                        "200": _json({"$ref": ref + "Token"}, "A token for changes"),
                        "400": _error("Malformed request"),
                        "401": _error("Wrong password"),
                        "409": _error("No password set yet: set one during commissioning"),
                        "415": _error("Body must be JSON"),
                        "429": _error("Too many failed logins: wait"),
                    },
                }
            },
        },
    }
