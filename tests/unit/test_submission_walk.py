"""The submission walk as plain Python: its moves, and its round trip through the FSM data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.domain.meter_task import MeterTask, ZoneBasis
from bot.domain.periods import Period
from bot.domain.readings import PreviousReading
from bot.services.walk import KeptReading, SkippedMeter, SubmissionWalk


def task(serial: str, *, tariffs: int = 1, resource: str = "cold_water") -> MeterTask:
    zones = tuple(
        ZoneBasis(PreviousReading(100 + z, date(2026, 10, 20)), (10, 12)) for z in range(tariffs)
    )
    return MeterTask(
        meter_id=sum(map(ord, serial)),
        account_id=7,
        resource=resource,
        serial=serial,
        tariffs=tariffs,
        digits=5,
        window_start=20,
        window_end=25,
        period=Period(2026, 11),
        correction=False,
        zones=zones,
        months=1,
    )


def walk_of(*tasks: MeterTask, through_due: bool = True) -> SubmissionWalk:
    return SubmissionWalk.begin(list(tasks), account_id=7, through_due=through_due)


def test_a_walk_begins_at_its_first_meter_and_first_zone() -> None:
    walk = walk_of(task("A"), task("B"))
    assert walk.current.serial == "A"
    assert (walk.position, walk.total, walk.zone, walk.values) == (1, 2, 0, ())
    assert walk.shows_position and not walk.is_over


def test_a_walk_needs_a_meter() -> None:
    with pytest.raises(ValueError):
        walk_of()


def test_a_single_meter_picked_shows_no_position() -> None:
    assert not walk_of(task("A"), through_due=False).shows_position
    assert not walk_of(task("A")).shows_position  # one due meter: no "(1 of 1)"


def test_accept_asks_the_next_zone_then_the_confirmation() -> None:
    walk = walk_of(task("EL", tariffs=2)).accept(150)
    assert (walk.zone, walk.values, walk.has_every_value) == (1, (150,), False)
    walk = walk.accept(80)
    assert (walk.values, walk.has_every_value) == ((150, 80), True)


def test_no_value_is_accepted_beyond_the_meter_zones() -> None:
    with pytest.raises(ValueError):
        walk_of(task("A")).accept(105).accept(106)


def test_a_doubted_value_waits_for_yes() -> None:
    walk = walk_of(task("A")).at_step("k1", pending=900)
    assert walk.pending == 900
    accepted = walk.accept_pending()
    assert (accepted.values, accepted.pending) == ((900,), None)


def test_yes_without_a_doubted_value_is_refused() -> None:
    with pytest.raises(ValueError):
        walk_of(task("A")).accept_pending()


def test_a_new_step_has_its_key_and_forgets_a_doubted_value() -> None:
    walk = walk_of(task("A")).at_step("k1", pending=900).at_step("k2")
    assert (walk.key, walk.pending) == ("k2", None)


def test_change_asks_the_meter_again_from_its_first_zone() -> None:
    walk = walk_of(task("EL", tariffs=2)).accept(150).accept(80).change()
    assert (walk.zone, walk.values, walk.current.serial) == (0, (), "EL")


def test_keep_records_the_receipt_and_moves_to_the_next_meter() -> None:
    walk = walk_of(task("A"), task("B", resource="hot_water")).accept(105).keep("2611-000001")
    assert walk.kept == (KeptReading("cold_water", "A", "2611-000001"),)
    assert (walk.current.serial, walk.position, walk.zone, walk.values) == ("B", 2, 0, ())


def test_skip_leaves_the_meter_unread_and_moves_on() -> None:
    walk = walk_of(task("A"), task("B")).accept(105).skip()
    assert walk.skipped == (SkippedMeter("cold_water", "A"),)
    assert walk.kept == ()
    assert (walk.current.serial, walk.position, walk.values) == ("B", 2, ())


def test_the_last_meter_ends_the_walk() -> None:
    walk = walk_of(task("A"), task("B")).accept(105).keep("R1").skip()
    assert walk.is_over
    assert walk.position == 2  # the summary counts what was done, not a third meter
    assert [k.receipt for k in walk.kept] == ["R1"]


def test_a_single_meter_picked_ends_after_its_reading() -> None:
    walk = walk_of(task("A"), task("B"), through_due=False).accept(105).keep("R1")
    assert walk.is_over


def test_the_walk_survives_the_fsm_data_round_trip() -> None:
    walk = (
        walk_of(task("A"), task("EL", tariffs=2), task("C"))
        .accept(105)
        .keep("R1")
        .accept(150)
        .at_step("k3", pending=999)
    )
    assert SubmissionWalk.from_data(walk.to_data()) == walk


OLD_SHAPE: dict[str, Any] = {  # what the bot saved before the walk was typed
    "account": 7,
    "walk": True,
    "total": 2,
    "pos": 2,
    "zone": 0,
    "values": [],
    "pending": None,
    "key": "abcdefghijkl",
    "saved": [["cold_water", "A", "2611-000001"]],
    "skipped": [],
}


def test_a_conversation_saved_by_the_previous_version_loads() -> None:
    data = {**OLD_SHAPE, "tasks": [task("B").to_data()]}
    del data["tasks"][0]["months"]  # saved before the ceilings came
    walk = SubmissionWalk.from_data(data)
    assert walk is not None
    assert (walk.current.serial, walk.current.months, walk.position, walk.key) == (
        "B",
        1,
        2,
        "abcdefghijkl",
    )
    assert walk.kept == (KeptReading("cold_water", "A", "2611-000001"),)
    assert walk.to_data() == {**data, "tasks": [task("B").to_data()]}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"zone": 0},
        {**OLD_SHAPE, "tasks": []},
        {**OLD_SHAPE, "tasks": [{"id": 1}]},
        {**OLD_SHAPE, "tasks": "nonsense"},
        {**OLD_SHAPE, "tasks": [task("B").to_data()], "values": ["x"]},
    ],
)
def test_data_that_holds_no_walk_loads_as_none(data: dict[str, Any]) -> None:
    assert SubmissionWalk.from_data(data) is None
