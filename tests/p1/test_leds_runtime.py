"""`run_leds` drives the CS and P1 LEDs on their pin-map pins (MockFactory) and publishes them."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from appliance.panel.leds import LedStates
from appliance.runtime.context import RuntimeContext
from appliance.runtime.leds import LedStatus, run_leds
from tests.p1.helpers import phase, reading


async def settle() -> None:
    await asyncio.sleep(0.05)


async def test_leds_follow_current_and_request_line(ctx: RuntimeContext) -> None:
    cs_pin = ctx.pin_factory.pin(ctx.pinmap.led_cs)
    p1_pin = ctx.pin_factory.pin(ctx.pinmap.led_p1)
    task = asyncio.create_task(run_leds(ctx))
    try:
        await settle()
        status = ctx.services["leds"]
        assert isinstance(status, LedStatus)
        request = ctx.pin_factory.pin(ctx.pinmap.p1_request)
        request.drive_low()
        await settle()
        assert status.states() == LedStates(pwr=True, cs=False, p1=False)
        assert (cs_pin.state, p1_pin.state) == (0, 0)

        heavy = reading(phase(20, 4600), phase(15, 3450), phase(10, 2300))  # 45 A: always on
        ctx.hub.readings.publish(replace(heavy, monotonic_s=ctx.clock.monotonic()))
        request.drive_high()
        await settle()
        assert status.states() == LedStates(pwr=True, cs=True, p1=True)
        assert (cs_pin.state, p1_pin.state) == (1, 1)

        blink = reading(phase(10, 2300), phase(10, 2300), phase(0, 0))  # 20 A: 500 ms per s
        ctx.hub.readings.publish(replace(blink, monotonic_s=ctx.clock.monotonic()))
        seen = set()
        for _ in range(30):  # 1.5 s
            await asyncio.sleep(0.05)
            seen.add(cs_pin.state)
        assert seen == {0, 1}

        request.drive_low()
        ctx.hub.readings.publish(replace(blink, monotonic_s=ctx.clock.monotonic() - 60))  # stale
        await settle()
        assert (cs_pin.state, p1_pin.state) == (0, 0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
