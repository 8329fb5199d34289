"""Tell systemd how the service is doing: READY, WATCHDOG pings, STATUS and STOPPING.

The unit is `Type=notify` with `WatchdogSec=`: systemd starts dependent units (and an update
counts as healthy) only after READY=1, and restarts the service when the pings stop. A ping is
sent only while the acquisition loop publishes fresh readings, so a hung loop gets restarted
rather than kept alive by a timer that still runs. The acquisition loop publishes one reading
per window even when the source is silent (a reading with `Fault.NO_DATA`), so a missing cable
feeds the fail-safe instead of a restart loop.

Off systemd (no NOTIFY_SOCKET), every call does nothing. The protocol is one datagram per
message on an AF_UNIX socket (sd_notify(3)); it is spoken here directly because the `sdnotify`
package connects once at construction and hides every error.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

from appliance.clock import Clock
from appliance.grid import GridReading
from appliance.runtime.context import RuntimeContext
from appliance.runtime.topic import Topic

log = logging.getLogger(__name__)

# A reading older than this means the loop that produces one per second is stuck.
FRESH_READING_S = 5.0


class Notifier:
    """sd_notify messages to the socket systemd passes in NOTIFY_SOCKET."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.socket_path = env.get("NOTIFY_SOCKET", "")
        usec = env.get("WATCHDOG_USEC", "")
        # Ping at half the timeout, as sd_watchdog_enabled(3) recommends.
        self.watchdog_interval_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self.socket_path)

    def ready(self, status: str = "") -> None:
        self._send("READY=1", f"STATUS={status}" if status else "")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def stopping(self, status: str = "") -> None:
        self._send("STOPPING=1", f"STATUS={status}" if status else "")

    def _send(self, *assignments: str) -> None:
        if not self.enabled:
            return
        message = "\n".join(item for item in assignments if item).encode()
        # A leading '@' names a socket in the abstract namespace.
        address = "\0" + self.socket_path[1:] if self.socket_path[0] == "@" else self.socket_path
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, address)
        except OSError as exc:
            # systemd gone (shutdown) or a wrong socket: keep running, say it once.
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s", self.socket_path, exc)
                self._warned = True


def is_fresh(reading: GridReading | None, now_monotonic: float) -> bool:
    """A reading produced recently enough that the acquisition loop is alive."""
    return reading is not None and reading.age_s(now_monotonic) <= FRESH_READING_S


async def report_health(
    notifier: Notifier, readings: Topic[GridReading], clock: Clock, status: str = ""
) -> None:
    """READY at the first fresh reading, then a WATCHDOG ping for every fresh one.

    Runs until cancelled; says STOPPING on the way out.
    """
    announced = False
    try:
        async for reading in readings.updates():
            if not is_fresh(reading, clock.monotonic()):
                continue
            if not announced:
                notifier.ready(status or "measuring")
                announced = True
            notifier.watchdog()
    finally:
        notifier.stopping("stopping")


async def run_notify(ctx: RuntimeContext) -> None:
    """The runtime part: report health to systemd from the readings topic."""
    notifier = ctx.services.get("notifier")
    if not isinstance(notifier, Notifier):
        notifier = Notifier()
        ctx.services["notifier"] = notifier
    await report_health(
        notifier, ctx.hub.readings, ctx.clock, f"device {ctx.identity.device_number}"
    )
