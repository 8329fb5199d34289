"""The SCC menu tree (manual section 5, SPEC "Menu ring") as a table that drives the menu.

Every screen is one row: what OK does, what a long OK press does and after how long, what
`<`/`>` do, where the screen sits on the top-level ring, and whether the 60 s idle rule applies.
The state machine (`menu.py`), the docs table and the tests all read this table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Screen(enum.StrEnum):
    HOME = "home"
    MODE_LIST = "mode_list"
    MEASUREMENTS = "measurements"
    VERSIONS = "versions"
    SETTINGS = "settings"
    SETTINGS_LIST = "settings_list"
    COMMISSIONING = "commissioning"
    COMMISSIONING_ACTIVE = "commissioning_active"
    FIRMWARE_UPDATE = "firmware_update"
    UPDATE_RUNNING = "update_running"
    FACTORY_RESET = "factory_reset"
    FACTORY_RESET_CONFIRM = "factory_reset_confirm"
    RESETTING = "resetting"


class Feature(enum.StrEnum):
    """A service a screen needs; absent services are shown as "not available"."""

    COMMISSIONING = "commissioning"
    UPDATE = "update"
    FACTORY_RESET = "factory_reset"


class OkAction(enum.Enum):
    HOME = "return to the home screen"
    OPEN_MODE_LIST = "open the charge mode list"
    SELECT_MODE = "select the highlighted mode, return home"
    OPEN_SETTINGS_LIST = "list the settings"
    STOP_COMMISSIONING = "stop commissioning, return home"
    NONE = "nothing"


class LongAction(enum.Enum):
    START_COMMISSIONING = "start commissioning"
    START_UPDATE = "start the firmware update"
    ASK_RESET_CONFIRMATION = "ask for confirmation"
    FACTORY_RESET = "reset to factory settings"


class ArrowAction(enum.Enum):
    RING = "previous / next top-level screen"
    SCROLL = "move the selection up / down"
    STOP_AND_RING = "stop commissioning, previous / next top-level screen"
    NONE = "nothing"


@dataclass(frozen=True, slots=True)
class LongPress:
    threshold_s: float
    action: LongAction
    needs: Feature


@dataclass(frozen=True, slots=True)
class ScreenSpec:
    screen: Screen
    ok: OkAction
    arrows: ArrowAction
    ring_position: Screen  # the top-level screen `<`/`>` move from
    long_press: LongPress | None = None
    idle_returns_home: bool = True
    ok_label: str = ""  # soft-key text above the OK button


# The top-level ring, in the order `>` walks it (SPEC "Menu ring").
RING: tuple[Screen, ...] = (
    Screen.HOME,
    Screen.MEASUREMENTS,
    Screen.VERSIONS,
    Screen.SETTINGS,
    Screen.COMMISSIONING,
    Screen.FIRMWARE_UPDATE,
    Screen.FACTORY_RESET,
)

COMMISSIONING_HOLD_S = 5.0
UPDATE_HOLD_S = 5.0
RESET_HOLD_S = 10.0

MENU_TREE: dict[Screen, ScreenSpec] = {
    spec.screen: spec
    for spec in (
        ScreenSpec(
            Screen.HOME, OkAction.OPEN_MODE_LIST, ArrowAction.RING, Screen.HOME, ok_label="CHANGE"
        ),
        ScreenSpec(
            Screen.MODE_LIST,
            OkAction.SELECT_MODE,
            ArrowAction.SCROLL,
            Screen.HOME,
            ok_label="SELECT",
        ),
        ScreenSpec(Screen.MEASUREMENTS, OkAction.HOME, ArrowAction.RING, Screen.MEASUREMENTS),
        ScreenSpec(Screen.VERSIONS, OkAction.HOME, ArrowAction.RING, Screen.VERSIONS),
        ScreenSpec(
            Screen.SETTINGS,
            OkAction.OPEN_SETTINGS_LIST,
            ArrowAction.RING,
            Screen.SETTINGS,
            ok_label="SHOW",
        ),
        ScreenSpec(
            Screen.SETTINGS_LIST,
            OkAction.HOME,
            ArrowAction.SCROLL,
            Screen.SETTINGS,
            ok_label="HOME",
        ),
        ScreenSpec(
            Screen.COMMISSIONING,
            OkAction.HOME,
            ArrowAction.RING,
            Screen.COMMISSIONING,
            long_press=LongPress(
                COMMISSIONING_HOLD_S, LongAction.START_COMMISSIONING, Feature.COMMISSIONING
            ),
        ),
        ScreenSpec(
            Screen.COMMISSIONING_ACTIVE,
            OkAction.STOP_COMMISSIONING,
            ArrowAction.STOP_AND_RING,
            Screen.COMMISSIONING,
            idle_returns_home=False,  # while it runs: the installer is busy on the phone
            ok_label="STOP",
        ),
        ScreenSpec(
            Screen.FIRMWARE_UPDATE,
            OkAction.HOME,
            ArrowAction.RING,
            Screen.FIRMWARE_UPDATE,
            long_press=LongPress(UPDATE_HOLD_S, LongAction.START_UPDATE, Feature.UPDATE),
        ),
        # While the update runs, the buttons do nothing and the idle rule is off (menu.py).
        ScreenSpec(
            Screen.UPDATE_RUNNING,
            OkAction.HOME,
            ArrowAction.RING,
            Screen.FIRMWARE_UPDATE,
            ok_label="HOME",
        ),
        ScreenSpec(
            Screen.FACTORY_RESET,
            OkAction.HOME,
            ArrowAction.RING,
            Screen.FACTORY_RESET,
            long_press=LongPress(
                RESET_HOLD_S, LongAction.ASK_RESET_CONFIRMATION, Feature.FACTORY_RESET
            ),
        ),
        ScreenSpec(
            Screen.FACTORY_RESET_CONFIRM,
            OkAction.HOME,
            ArrowAction.RING,
            Screen.FACTORY_RESET,
            long_press=LongPress(RESET_HOLD_S, LongAction.FACTORY_RESET, Feature.FACTORY_RESET),
        ),
        ScreenSpec(
            Screen.RESETTING,
            OkAction.HOME,
            ArrowAction.NONE,
            Screen.FACTORY_RESET,
            idle_returns_home=False,
            ok_label="HOME",
        ),
    )
}

assert set(MENU_TREE) == set(Screen), "every screen needs a row in the menu tree"


def markdown_table() -> str:
    """The menu tree as a Markdown table for docs/panel.md (a test keeps the two equal)."""
    lines = [
        "| screen | OK (short) | OK held | `<` / `>` | ring position | 60 s idle → Home |",
        "|---|---|---|---|---|---|",
    ]
    for spec in MENU_TREE.values():
        held = "—"
        if spec.long_press is not None:
            held = f"≥ {spec.long_press.threshold_s:g} s: {spec.long_press.action.value}"
        idle = "yes" if spec.idle_returns_home and spec.screen is not Screen.HOME else "no"
        if spec.screen is Screen.UPDATE_RUNNING:
            idle = "once the update has finished"
        if spec.screen is Screen.COMMISSIONING_ACTIVE:
            idle = "only if the access point is not running (failed start)"
        lines.append(
            f"| {spec.screen.value} | {spec.ok.value} | {held} | {spec.arrows.value} "
            f"| {spec.ring_position.value} | {idle} |"
        )
    return "\n".join(lines) + "\n"
