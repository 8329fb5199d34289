"""Timers and margins of the control law that the manuals leave open (see docs/control.md)."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.grid import FAILSAFE_CURRENT_A


@dataclass(frozen=True, slots=True)
class ControlTuning:
    # ECO: while charging on surplus, aim at no export at all: every watt left over is a watt
    # the EV draws from the grid later (its floor is drawn from the grid anyway).
    export_margin_w: float = 0.0
    # ECO+ charges on surplus only: a wider export margin keeps household load steps (which the
    # charger follows a few polls late) from being covered by the grid.
    eco_plus_export_margin_w: float = 500.0
    # ECO+: the surplus must carry the minimum current this long before a start (a short burst of
    # sun is not worth a start).
    start_delay_s: float = 180.0
    # ECO+: longest hold at the minimum through a deficit (a passing cloud) before stopping.
    stop_delay_s: float = 300.0
    # ECO+: grid import the holds of one session may cost together, as a share of the session's
    # EV energy plus a fixed allowance; past it the charger stops before the stop delay ends.
    hold_import_share: float = 0.002
    hold_import_allowance_wh: float = 5.0
    # Where ECO+ or CAPACITY offer the minimum (start, floor, holds), offer this much more, so an
    # estimate a little high or a charger rounding down cannot land below the minimum.
    minimum_margin_a: float = 0.5
    # ECO: the floor is the minimum plus a little for the estimate's error (a charger asked for
    # less than its minimum pauses, and every pause is a start); more would be drawn from the
    # grid all night. While waiting for the EV's current a little more is offered (its ramp is
    # read from the grid and may be a few mA high).
    eco_minimum_margin_a: float = 0.1
    eco_starting_margin_a: float = 0.25
    # ECO+: a start needs the surplus to carry the minimum plus this much.
    start_margin_a: float = 0.5
    # Changes of the charge current smaller than this are not asked for (see the EV estimate).
    report_deadband_a: float = 0.25
    # ECO+ and CAPACITY: after a stop, stay off at least this long (contactor and EV protection;
    # with the start delay it keeps ECO+ to few starts on a cloudy day).
    min_off_s: float = 900.0
    # Starts the controller may make in any hour (ECO+ and CAPACITY resumes).
    max_starts_per_hour: int = 2
    # After an offer that no EV took within the startup time, wait this long before offering again.
    no_ev_retry_s: float = 900.0
    # CAPACITY: resume only when the budget carries the minimum plus this much for `resume_s`.
    capacity_resume_margin_a: float = 1.0
    capacity_resume_s: float = 30.0
    capacity_min_off_s: float = 120.0
    # CAPACITY quarter budget: aim below the cap, bounded catch-up, no boost in the last minute.
    capacity_margin: float = 0.97
    capacity_catch_up: float = 1.25
    capacity_final_s: float = 60.0
    # An EV that stopped short of the offer is offered at most this much above what it takes.
    limited_headroom_a: float = 1.0
    # Per-phase protection keeps this much below the charger's grid limit.
    fuse_margin_a: float = 0.5
    # Fail-safe: report at least this (and at least twice the grid limit) on every phase, so a
    # charger computing "limit - reported + own current" ends below zero and pauses.
    failsafe_current_a: float = FAILSAFE_CURRENT_A
