"""The drivers' exception tree: an OSError from a bus becomes one of these at the boundary."""


class DriverError(Exception):
    """Base of every error a driver raises."""


class BusError(DriverError):
    """A bus transfer (SPI, I2C, serial) failed at the operating-system level."""


class ChipNotFoundError(DriverError):
    """The chip did not answer its handshake: absent, unpowered or wired wrong."""


class FrameError(DriverError):
    """A frame from the chip failed its integrity check (CRC, framing)."""


class PinMapError(DriverError):
    """The hardware pin map is missing, malformed or inconsistent."""
