"""The appliance's exception tree. Drivers' errors are converted at the runtime boundary."""


class ApplianceError(Exception):
    """Base of every error the appliance raises on purpose."""


class SettingsError(ApplianceError):
    """The settings file cannot be read, parsed or validated; never replaced by defaults."""


class ConfigurationError(ApplianceError):
    """A combination of settings that cannot work (e.g. a map that does not exist)."""


class MeasurementError(ApplianceError):
    """A measurement window could not be produced (the runtime answers with the fail-safe)."""


class TelegramError(ApplianceError):
    """A P1 telegram was malformed, truncated or failed its CRC."""


class ModbusError(ApplianceError):
    """A Modbus request the emulated meter refuses; `exception_code` goes back on the wire."""

    exception_code: int = 4  # server device failure, for subclasses that forget to say


class IllegalFunctionError(ModbusError):
    """Exception 01: a write, or a function code the emulated meter does not serve."""

    exception_code = 1


class ModbusAddressError(ModbusError):
    """Exception 02: a register outside the emulated meter's map."""

    exception_code = 2


class ModbusValueError(ModbusError):
    """Exception 03: a register count outside 1..125."""

    exception_code = 3


class ScenarioError(ApplianceError):
    """A simulation scenario file cannot be read or describes an impossible grid."""


class UpdateError(ApplianceError):
    """A firmware update could not be fetched, verified or installed; the running release stays."""
