"""The P1 request line, opened once and shared by the telegram sender and the P1 LED."""

from __future__ import annotations

import logging

from appliance.runtime.context import RuntimeContext
from drivers.p1.request import RequestLine

log = logging.getLogger(__name__)

SERVICE_NAME = "p1_request"


def shared_request_line(ctx: RuntimeContext) -> RequestLine:
    """The request line of the pin map; in simulation its mock pin is driven like a charger
    that always requests data, unless "send without request" makes that unnecessary."""
    existing = ctx.services.get(SERVICE_NAME)
    if isinstance(existing, RequestLine):
        return existing
    line = RequestLine(ctx.pinmap.p1_request, pin_factory=ctx.pin_factory)
    ctx.services[SERVICE_NAME] = line
    if ctx.simulate and not ctx.settings.current.p1.send_without_request:
        ctx.pin_factory.pin(ctx.pinmap.p1_request).drive_high()
        log.info("simulation: P1 request line (GPIO%d) held high", ctx.pinmap.p1_request)
    return line
