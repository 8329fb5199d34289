"""Drives the CS and P1 LEDs from the pure patterns of `appliance.panel.leds`.

One task for both LEDs: it recomputes the states when a reading arrives, when the request line
moves, and at the next blink edge, and sleeps otherwise. The states are published as
`ctx.services["leds"]` for the web mirror.
"""

from __future__ import annotations

import asyncio
import contextlib

from appliance.grid import GridReading
from appliance.panel.leds import LedStates, led_states, next_cs_change
from appliance.runtime.context import RuntimeContext
from appliance.runtime.p1_request import shared_request_line
from drivers.leds import StatusLeds

SERVICE_NAME = "leds"


class LedStatus:
    """The LED states in force, readable by other parts (web mirror, dashboard)."""

    def __init__(self) -> None:
        self._states = LedStates(pwr=True, cs=False, p1=False)

    def states(self) -> LedStates:
        return self._states

    def update(self, states: LedStates) -> None:
        self._states = states


def _fresh(reading: GridReading | None, now: float, stale_after_s: float) -> GridReading | None:
    if reading is None or reading.age_s(now) > stale_after_s:
        return None
    return reading


async def run_leds(ctx: RuntimeContext) -> None:
    status = LedStatus()
    ctx.services[SERVICE_NAME] = status
    leds = StatusLeds(ctx.pinmap.led_cs, ctx.pinmap.led_p1, pin_factory=ctx.pin_factory)
    request = shared_request_line(ctx)
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_edge(_level: bool) -> None:
        loop.call_soon_threadsafe(wake.set)

    async def on_readings() -> None:
        while True:
            await ctx.hub.readings.next()
            wake.set()

    request.add_listener(on_edge)
    watcher = asyncio.create_task(on_readings())
    try:
        while True:
            wake.clear()
            now = ctx.clock.monotonic()
            stale_after = ctx.settings.current.metering.stale_after_s
            reading = _fresh(ctx.hub.readings.latest, now, stale_after)
            states = led_states(reading, request.is_high(), now)
            leds.set(cs=states.cs, p1=states.p1)
            status.update(states)
            change = next_cs_change(reading, now)
            # Without a blink edge, look again when the reading would turn stale.
            wake_at = change if change is not None else now + stale_after
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(wake_at - now, 0.0))
    finally:
        request.remove_listener(on_edge)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        leds.close()
