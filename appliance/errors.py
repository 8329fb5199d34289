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
