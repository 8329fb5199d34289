"""The menu state machine against the SCC manual, section 5, and SPEC's menu rows."""

# The objects under test change state inside calls, which mypy cannot see; its narrowing of
# `x.screen is ...` across those calls is wrong, so those two checks are off here.
# mypy: disable-error-code="comparison-overlap,unreachable"

from __future__ import annotations

import pytest

from appliance.modes import ECO, ECO_PLUS, ChargeMode, ModeKind
from appliance.panel.buttons import Button
from appliance.panel.menu import (
    IDLE_TIMEOUT_S,
    FactoryReset,
    SelectMode,
    StartCommissioning,
    StartUpdate,
    StopCommissioning,
)
from appliance.panel.menu_tree import MENU_TREE, RING, Feature, Screen
from tests.panel.menu_driver import MenuDriver

CAP7 = ChargeMode(ModeKind.CAPACITY, 7)


@pytest.fixture
def m() -> MenuDriver:
    return MenuDriver(CAP7)


# --- home and the charge mode list (5.1) --------------------------------------------------------
def test_starts_on_home(m: MenuDriver) -> None:
    assert m.screen is Screen.HOME
    assert MENU_TREE[Screen.HOME].ok_label == "CHANGE"


def test_ok_opens_mode_list_on_the_current_mode(m: MenuDriver) -> None:
    m.press()
    assert m.screen is Screen.MODE_LIST
    assert m.inputs.modes[m.menu.mode_index] == CAP7


def test_arrows_move_and_ok_selects_and_returns_home(m: MenuDriver) -> None:
    m.press()
    m.press(Button.RIGHT)
    m.press(Button.RIGHT)
    m.press(Button.LEFT)
    assert m.press() == [SelectMode(ChargeMode(ModeKind.CAPACITY, 8))]
    assert m.screen is Screen.HOME


def test_mode_list_wraps_around() -> None:
    driver = MenuDriver(ECO_PLUS)
    driver.press()
    driver.press(Button.LEFT)
    assert driver.inputs.modes[driver.menu.mode_index] == ChargeMode(ModeKind.CAPACITY, 22)
    driver.press(Button.RIGHT)
    assert driver.press() == [SelectMode(ECO_PLUS)]


def test_mode_list_bounded_by_charger_maximum() -> None:
    driver = MenuDriver(ECO, phases=1, max_current_a=16)  # 1 x 230 V x 16 A = 3.68 kW
    assert driver.inputs.modes == (ECO_PLUS, ECO)
    driver.press()
    driver.press(Button.RIGHT)
    assert driver.press() == [SelectMode(ECO_PLUS)]


# --- the ring ------------------------------------------------------------------------------------
def test_right_walks_the_ring_in_the_manuals_order(m: MenuDriver) -> None:
    seen = [m.screen]
    for _ in range(len(RING)):
        m.press(Button.RIGHT)
        seen.append(m.screen)
    assert seen == [*RING, Screen.HOME]
    assert RING == (
        Screen.HOME,
        Screen.MEASUREMENTS,
        Screen.VERSIONS,
        Screen.SETTINGS,
        Screen.COMMISSIONING,
        Screen.FIRMWARE_UPDATE,
        Screen.FACTORY_RESET,
    )


def test_left_walks_the_ring_backwards(m: MenuDriver) -> None:
    m.press(Button.LEFT)
    assert m.screen is Screen.FACTORY_RESET
    m.press(Button.LEFT)
    assert m.screen is Screen.FIRMWARE_UPDATE


@pytest.mark.parametrize(
    "screen", [Screen.MEASUREMENTS, Screen.VERSIONS, Screen.COMMISSIONING, Screen.FIRMWARE_UPDATE]
)
def test_ok_returns_home(m: MenuDriver, screen: Screen) -> None:
    m.go(screen)
    assert m.press() == []
    assert m.screen is Screen.HOME


def test_factory_reset_short_ok_returns_home(m: MenuDriver) -> None:
    m.go(Screen.FACTORY_RESET)
    m.press()
    assert m.screen is Screen.HOME


# --- settings (5.4) ------------------------------------------------------------------------------
def test_settings_list_scrolls_and_ok_returns_home(m: MenuDriver) -> None:
    m.go(Screen.SETTINGS)
    m.press()
    assert m.screen is Screen.SETTINGS_LIST
    m.press(Button.RIGHT)
    m.press(Button.RIGHT)
    assert (m.screen, m.menu.settings_index) == (Screen.SETTINGS_LIST, 2)
    m.press(Button.LEFT)
    assert m.menu.settings_index == 1
    m.press(Button.LEFT)
    m.press(Button.LEFT)
    assert m.menu.settings_index == 14  # wraps to the last row
    m.press()
    assert m.screen is Screen.HOME


# --- commissioning (5.5, 6) ----------------------------------------------------------------------
def test_commissioning_short_press_at_4_9_s_returns_home(m: MenuDriver) -> None:
    m.go(Screen.COMMISSIONING)
    held, released = m.hold(4.9)
    assert held == []
    assert released == []
    assert m.screen is Screen.HOME


def test_commissioning_starts_at_5_0_s_while_held(m: MenuDriver) -> None:
    m.go(Screen.COMMISSIONING)
    m.down()
    assert m.wait(4.9) == []
    assert m.wait(0.1) == [StartCommissioning()]  # fires while the button is still down
    assert m.screen is Screen.COMMISSIONING_ACTIVE
    assert m.wait(6.0) == []  # the 10 s threshold of the same hold does nothing more
    assert m.up() == []  # the release that ends the hold
    assert m.screen is Screen.COMMISSIONING_ACTIVE


def test_hold_progress_is_shown_towards_the_threshold(m: MenuDriver) -> None:
    m.go(Screen.COMMISSIONING)
    assert m.menu.view(m.clock.monotonic()).hold is None
    m.down()
    m.wait(2.5)
    hold = m.menu.view(m.clock.monotonic()).hold
    assert hold is not None
    assert hold.fraction == pytest.approx(0.5)
    m.wait(2.5)
    assert m.menu.view(m.clock.monotonic()).hold is None  # fired: the bar gives way


def test_no_hold_bar_where_there_is_no_long_press(m: MenuDriver) -> None:
    m.down()
    m.wait(3)
    assert m.menu.view(m.clock.monotonic()).hold is None


def start_commissioning(m: MenuDriver) -> None:
    m.go(Screen.COMMISSIONING)
    m.hold(5.0)
    m.set(commissioning_active=True)


def test_ok_stops_commissioning(m: MenuDriver) -> None:
    start_commissioning(m)
    assert m.press() == [StopCommissioning()]
    assert m.screen is Screen.HOME


@pytest.mark.parametrize(
    ("button", "screen"),
    [(Button.RIGHT, Screen.FIRMWARE_UPDATE), (Button.LEFT, Screen.SETTINGS)],
)
def test_arrows_leave_and_stop_commissioning(m: MenuDriver, button: Button, screen: Screen) -> None:
    start_commissioning(m)
    assert m.press(button) == [StopCommissioning()]
    assert m.screen is screen


def test_no_idle_timeout_during_commissioning(m: MenuDriver) -> None:
    start_commissioning(m)
    m.wait(600, step=1.0)
    assert m.screen is Screen.COMMISSIONING_ACTIVE


def test_failed_commissioning_start_times_out_like_any_screen(m: MenuDriver) -> None:
    m.go(Screen.COMMISSIONING)
    m.hold(5.0)  # the service never becomes active (start failed)
    m.wait(IDLE_TIMEOUT_S - 1)
    assert m.screen is Screen.COMMISSIONING_ACTIVE
    m.wait(1.0)
    assert m.screen is Screen.HOME


def test_commissioning_ended_by_its_service_returns_home(m: MenuDriver) -> None:
    start_commissioning(m)
    m.wait(10)
    m.set(commissioning_active=False)  # 5 minutes without a station
    assert m.screen is Screen.HOME


def test_commissioning_not_yet_active_is_not_taken_as_ended(m: MenuDriver) -> None:
    m.go(Screen.COMMISSIONING)
    m.hold(5.0)
    m.wait(3)  # the access point is still starting
    assert m.screen is Screen.COMMISSIONING_ACTIVE


def test_commissioning_unavailable_does_nothing_on_hold() -> None:
    driver = MenuDriver(ECO, features=frozenset({Feature.UPDATE, Feature.FACTORY_RESET}))
    driver.go(Screen.COMMISSIONING)
    held, released = driver.hold(6.0)
    assert held == []
    assert released == []
    assert driver.screen is Screen.HOME


# --- firmware update (5.6) -----------------------------------------------------------------------
def test_update_at_4_9_s_returns_home(m: MenuDriver) -> None:
    m.go(Screen.FIRMWARE_UPDATE)
    assert m.hold(4.9) == ([], [])
    assert m.screen is Screen.HOME


def test_update_starts_at_5_0_s(m: MenuDriver) -> None:
    m.go(Screen.FIRMWARE_UPDATE)
    held, released = m.hold(5.0)
    assert held == [StartUpdate()]
    assert released == []
    assert m.screen is Screen.UPDATE_RUNNING


def test_running_update_ignores_buttons_and_idle(m: MenuDriver) -> None:
    m.go(Screen.FIRMWARE_UPDATE)
    m.hold(5.0)
    m.set(update_running=True)
    m.press()
    m.press(Button.RIGHT)
    m.hold(10.0)
    m.wait(300, step=1.0)
    assert m.screen is Screen.UPDATE_RUNNING
    assert m.effects == [StartUpdate()]


def test_update_result_stays_for_the_idle_period_then_home(m: MenuDriver) -> None:
    m.go(Screen.FIRMWARE_UPDATE)
    m.hold(5.0)
    m.set(update_running=True)
    m.wait(120, step=1.0)
    m.set(update_running=False)  # failed or up to date: the result is on screen
    m.wait(IDLE_TIMEOUT_S - 1, step=1.0)
    assert m.screen is Screen.UPDATE_RUNNING
    m.wait(1.0)
    assert m.screen is Screen.HOME


def test_update_result_ok_returns_home(m: MenuDriver) -> None:
    m.go(Screen.FIRMWARE_UPDATE)
    m.hold(5.0)
    m.set(update_running=True)
    m.set(update_running=False)
    m.press()
    assert m.screen is Screen.HOME


# --- factory reset (5.7) -------------------------------------------------------------------------
def test_reset_at_9_9_s_returns_home(m: MenuDriver) -> None:
    m.go(Screen.FACTORY_RESET)
    assert m.hold(9.9) == ([], [])
    assert m.screen is Screen.HOME


def test_reset_five_second_threshold_does_nothing(m: MenuDriver) -> None:
    m.go(Screen.FACTORY_RESET)
    m.down()
    assert m.wait(7.0) == []
    assert m.screen is Screen.FACTORY_RESET
    m.up()
    assert m.screen is Screen.HOME  # "less than 10 seconds returns to the home screen"


def test_reset_asks_confirmation_at_10_0_s_then_resets_at_10_0_s(m: MenuDriver) -> None:
    m.go(Screen.FACTORY_RESET)
    m.down()
    m.wait(9.9)
    assert m.screen is Screen.FACTORY_RESET
    assert m.wait(0.1) == []
    assert m.screen is Screen.FACTORY_RESET_CONFIRM  # asked while still held
    assert m.up() == []  # releasing the first hold does not confirm
    assert m.screen is Screen.FACTORY_RESET_CONFIRM
    m.down()
    assert m.wait(9.9) == []
    assert m.wait(0.1) == [FactoryReset()]
    assert m.screen is Screen.RESETTING
    assert m.up() == []


def test_reset_confirmation_short_press_returns_home(m: MenuDriver) -> None:
    m.go(Screen.FACTORY_RESET)
    m.hold(10.0)
    assert m.hold(9.9) == ([], [])
    assert m.screen is Screen.HOME
    assert FactoryReset() not in m.effects


@pytest.mark.parametrize(
    ("button", "screen"), [(Button.RIGHT, Screen.HOME), (Button.LEFT, Screen.FIRMWARE_UPDATE)]
)
def test_reset_confirmation_arrows_move_on(m: MenuDriver, button: Button, screen: Screen) -> None:
    m.go(Screen.FACTORY_RESET)
    m.hold(10.0)
    m.press(button)
    assert m.screen is screen
    assert m.effects == []


# --- idle rule ----------------------------------------------------------------------------------
IDLE_SCREENS = [
    Screen.MEASUREMENTS,
    Screen.VERSIONS,
    Screen.SETTINGS,
    Screen.COMMISSIONING,
    Screen.FIRMWARE_UPDATE,
    Screen.FACTORY_RESET,
]


@pytest.mark.parametrize("screen", IDLE_SCREENS)
def test_sixty_seconds_idle_returns_home(m: MenuDriver, screen: Screen) -> None:
    m.go(screen)
    m.wait(59.9, step=0.1)
    assert m.screen is screen
    m.wait(0.1)
    assert m.screen is Screen.HOME


def test_idle_in_mode_list_returns_home_without_selecting(m: MenuDriver) -> None:
    m.press()
    m.press(Button.RIGHT)
    m.wait(IDLE_TIMEOUT_S)
    assert m.screen is Screen.HOME
    assert m.effects == []


def test_idle_in_settings_list_and_confirmation(m: MenuDriver) -> None:
    m.go(Screen.SETTINGS)
    m.press()
    m.wait(IDLE_TIMEOUT_S)
    assert m.screen is Screen.HOME
    m.go(Screen.FACTORY_RESET)
    m.hold(10.0)
    m.wait(IDLE_TIMEOUT_S)
    assert m.screen is Screen.HOME
    assert m.effects == []


def test_each_press_restarts_the_idle_timer(m: MenuDriver) -> None:
    m.go(Screen.SETTINGS)
    m.press()
    for _ in range(5):
        m.wait(50)
        m.press(Button.RIGHT)
    assert m.screen is Screen.SETTINGS_LIST


def test_next_deadline_is_the_threshold_or_the_idle_timeout(m: MenuDriver) -> None:
    now = m.clock.monotonic()
    assert m.menu.next_deadline(now) == pytest.approx(now + IDLE_TIMEOUT_S)
    m.down()
    assert m.menu.next_deadline(now) == pytest.approx(now + 5.0)


def test_mode_list_index_survives_a_shorter_list(m: MenuDriver) -> None:
    m.press()
    m.press(Button.LEFT)
    m.press(Button.LEFT)  # CAPACITY 5 kW
    shorter = tuple(mode for mode in m.inputs.modes if mode.capacity_kw <= 4)
    m.set(modes=shorter)
    assert m.press() == [SelectMode(shorter[-1])]
