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


class NetworkError(DriverError):
    """NetworkManager refused or failed a request (connection add/up/down, scan, query)."""


class DataReadyTimeoutError(DriverError):
    """A converter's data-ready line did not assert in time: the chip stopped converting."""


class GpioError(DriverError):
    """A GPIO line could not be claimed or driven (pin in use, no pin factory)."""
