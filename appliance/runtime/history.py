"""Records the last hour for the dashboard: one point per reported value."""

from __future__ import annotations

from appliance.remote.history import History
from appliance.runtime.context import RuntimeContext

SERVICE_NAME = "history"


async def run_history(ctx: RuntimeContext) -> None:
    history = History()
    ctx.services[SERVICE_NAME] = history
    async for reported in ctx.hub.reported.updates():
        control = ctx.services.get("control")
        status = control.status() if control is not None else None
        history.add(
            reported,
            ev_current_a=status.ev_current_a if status is not None else None,
            quarter_average_w=status.quarter_average_w if status is not None else None,
        )
