"""The availability engine: what holds units on which day, and that it stays at two queries."""

import datetime

import pytest
from django.utils import timezone

from catalog.models import UnitStatus
from lending.availability import FEW_ITEM_TYPES, availability
from lending.models import Reservation, ReservationLine, ReservationStatus
from tests import factories

# Monday 1 March 2027; the counter days of the week are 2 and 3 March.
TODAY = datetime.date(2027, 3, 1)


def day(month, day_of_month):
    return datetime.date(2027, month, day_of_month)


def held_by_day(entry):
    return {each_day: day_availability.held for each_day, day_availability in entry.days()}


def free_by_day(entry):
    return {each_day: day_availability.free for each_day, day_availability in entry.days()}


@pytest.fixture
def reserve(location, school_a):
    """Write a reservation through the ORM (states the services never produce directly)."""

    def reserve(lines, pickup_day, return_day, status=ReservationStatus.CONFIRMED):
        return factories.make_reservation(
            location=location, school=school_a, lines=lines, pickup_day=pickup_day,
            return_day=return_day, status=status,
        )

    return reserve


def test_a_reservation_holds_from_its_pickup_day_through_its_return_day(item_type, reserve):
    reserve({item_type: 2}, pickup_day=day(3, 2), return_day=day(3, 10))

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 12), today=TODAY)[
        item_type.pk
    ]

    assert entry.loanable == 3
    held = held_by_day(entry)
    assert held[day(3, 1)] == 0
    assert all(held[day(3, n)] == 2 for n in range(2, 11))
    assert held[day(3, 11)] == 0
    assert held[day(3, 12)] == 0
    assert entry.on(day(3, 2)).free == 1
    assert entry.on(day(3, 11)).free == 3


def test_the_turnaround_buffer_keeps_holding_after_the_return_day(location, reserve):
    item_type = factories.make_item_type(location=location, units=2, turnaround_days=2)
    reserve({item_type: 1}, pickup_day=day(3, 2), return_day=day(3, 3))

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 8), today=TODAY)[
        item_type.pk
    ]

    assert held_by_day(entry) == {
        day(3, 1): 0, day(3, 2): 1, day(3, 3): 1, day(3, 4): 1, day(3, 5): 1, day(3, 6): 0, day(3, 7): 0, day(3, 8): 0,
    }


def test_a_hold_that_ended_before_the_window_reaches_into_it_through_its_buffer(location, reserve):
    # Returned on Friday 26 February, three buffer days: held through Monday 1 March.
    slow = factories.make_item_type(location=location, units=2, turnaround_days=3)
    quick = factories.make_item_type(location=location, units=2, turnaround_days=0)
    reserve({slow: 1, quick: 1}, pickup_day=day(2, 23), return_day=day(2, 26))

    result = availability(item_type_ids=[slow.pk, quick.pk], first_day=day(3, 1), last_day=day(3, 3), today=TODAY)

    assert held_by_day(result[slow.pk]) == {day(3, 1): 1, day(3, 2): 0, day(3, 3): 0}
    assert held_by_day(result[quick.pk]) == {day(3, 1): 0, day(3, 2): 0, day(3, 3): 0}


def test_a_reservation_that_starts_after_the_window_does_not_hold(item_type, reserve):
    reserve({item_type: 3}, pickup_day=day(3, 9), return_day=day(3, 10))

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 8), today=TODAY)[
        item_type.pk
    ]

    assert set(held_by_day(entry).values()) == {0}


@pytest.mark.parametrize("status", [UnitStatus.MAINTENANCE, UnitStatus.LOST, UnitStatus.RETIRED])
def test_units_in_maintenance_lost_or_retired_are_not_loanable(location, status):
    item_type = factories.make_item_type(location=location, units=2)
    factories.make_unit(item_type=item_type, status=status)
    factories.make_unit(item_type=item_type, status=status)

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 1), today=TODAY)[
        item_type.pk
    ]

    assert entry.loanable == 2
    assert entry.on(day(3, 1)).free == 2


def test_an_item_type_without_loanable_units_has_nothing_free(location):
    item_type = factories.make_item_type(location=location, units=0)
    factories.make_unit(item_type=item_type, status=UnitStatus.MAINTENANCE)

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 2), today=TODAY)[
        item_type.pk
    ]

    assert entry.loanable == 0
    assert entry.min_free(day(3, 1), day(3, 2)) == 0


@pytest.mark.parametrize(
    "status, holds",
    [
        (ReservationStatus.CONFIRMED, True),
        (ReservationStatus.HANDED_OUT, True),
        (ReservationStatus.CANCELLED, False),
        (ReservationStatus.RETURNED, False),
        (ReservationStatus.NO_SHOW, False),
    ],
)
def test_only_confirmed_and_handed_out_reservations_hold(item_type, reserve, status, holds):
    reserve({item_type: 2}, pickup_day=day(3, 2), return_day=day(3, 3), status=status)

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 2), last_day=day(3, 3), today=TODAY)[
        item_type.pk
    ]

    assert entry.on(day(3, 2)).held == (2 if holds else 0)
    assert entry.on(day(3, 3)).free == (1 if holds else 3)


def test_an_overdue_loan_keeps_holding_through_today_and_its_buffer(time_machine, location, reserve):
    time_machine.move_to(datetime.datetime(2027, 3, 1, 10, 0), tick=False)
    item_type = factories.make_item_type(location=location, units=2, turnaround_days=1)
    # Due back on Wednesday 24 February, still out on Monday 1 March.
    reserve({item_type: 1}, pickup_day=day(2, 16), return_day=day(2, 24), status=ReservationStatus.HANDED_OUT)
    today = timezone.localdate()
    assert today == TODAY

    entry = availability(item_type_ids=[item_type.pk], first_day=day(2, 26), last_day=day(3, 5), today=today)[
        item_type.pk
    ]

    held = held_by_day(entry)
    assert [held[day(2, 26)], held[day(2, 27)], held[day(2, 28)], held[day(3, 1)], held[day(3, 2)]] == [1] * 5
    assert [held[day(3, 3)], held[day(3, 4)], held[day(3, 5)]] == [0, 0, 0]


def test_an_overdue_loan_holds_the_next_day_too_once_a_day_has_passed(time_machine, location, reserve):
    time_machine.move_to(datetime.datetime(2027, 3, 3, 10, 0), tick=False)
    item_type = factories.make_item_type(location=location, units=1, turnaround_days=0)
    reserve({item_type: 1}, pickup_day=day(2, 16), return_day=day(2, 24), status=ReservationStatus.HANDED_OUT)

    entry = availability(
        item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 5), today=timezone.localdate()
    )[item_type.pk]

    assert held_by_day(entry) == {day(3, 1): 1, day(3, 2): 1, day(3, 3): 1, day(3, 4): 0, day(3, 5): 0}


def test_an_overdue_loan_that_started_long_before_the_window_still_holds(location, reserve):
    item_type = factories.make_item_type(location=location, units=2, turnaround_days=1)
    reserve({item_type: 2}, pickup_day=day(1, 5), return_day=day(1, 13), status=ReservationStatus.HANDED_OUT)

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 3), today=TODAY)[
        item_type.pk
    ]

    assert held_by_day(entry) == {day(3, 1): 2, day(3, 2): 2, day(3, 3): 0}


def test_a_confirmed_reservation_never_picked_up_stops_holding_after_its_return_day(location, reserve):
    item_type = factories.make_item_type(location=location, units=2, turnaround_days=1)
    reserve({item_type: 2}, pickup_day=day(2, 16), return_day=day(2, 24), status=ReservationStatus.CONFIRMED)

    entry = availability(item_type_ids=[item_type.pk], first_day=day(2, 24), last_day=day(3, 1), today=TODAY)[
        item_type.pk
    ]

    assert held_by_day(entry) == {
        day(2, 24): 2, day(2, 25): 2, day(2, 26): 0, day(2, 27): 0, day(2, 28): 0, day(3, 1): 0,
    }


def test_a_handed_out_loan_not_yet_due_holds_only_to_its_return_day_and_buffer(location, reserve):
    item_type = factories.make_item_type(location=location, units=2, turnaround_days=1)
    reserve({item_type: 1}, pickup_day=day(2, 23), return_day=day(3, 3), status=ReservationStatus.HANDED_OUT)

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 6), today=TODAY)[
        item_type.pk
    ]

    assert held_by_day(entry) == {day(3, 1): 1, day(3, 2): 1, day(3, 3): 1, day(3, 4): 1, day(3, 5): 0, day(3, 6): 0}


def test_overlapping_reservations_add_up_and_free_never_goes_below_zero(item_type, reserve):
    reserve({item_type: 2}, pickup_day=day(3, 2), return_day=day(3, 9))
    reserve({item_type: 2}, pickup_day=day(3, 9), return_day=day(3, 10))

    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 8), last_day=day(3, 11), today=TODAY)[
        item_type.pk
    ]

    assert held_by_day(entry) == {day(3, 8): 2, day(3, 9): 4, day(3, 10): 2, day(3, 11): 0}
    assert free_by_day(entry) == {day(3, 8): 1, day(3, 9): 0, day(3, 10): 1, day(3, 11): 3}
    assert entry.min_free(day(3, 8), day(3, 8)) == 1
    assert entry.min_free(day(3, 8), day(3, 10)) == 0
    assert entry.min_free(day(3, 10), day(3, 11)) == 1


def test_each_line_holds_only_its_own_item_type(location, reserve):
    cameras = factories.make_item_type(location=location, units=4)
    robots = factories.make_item_type(location=location, units=4)
    untouched = factories.make_item_type(location=location, units=4)
    reserve({cameras: 1, robots: 3}, pickup_day=day(3, 2), return_day=day(3, 3))

    result = availability(
        item_type_ids=[cameras.pk, robots.pk, untouched.pk], first_day=day(3, 2), last_day=day(3, 2), today=TODAY
    )

    assert [result[each.pk].on(day(3, 2)).free for each in (cameras, robots, untouched)] == [3, 1, 4]


def test_it_can_leave_out_one_reservation_to_recheck_a_change(item_type, reserve):
    own = reserve({item_type: 2}, pickup_day=day(3, 2), return_day=day(3, 3))
    reserve({item_type: 1}, pickup_day=day(3, 3), return_day=day(3, 9))

    kwargs = {"item_type_ids": [item_type.pk], "first_day": day(3, 2), "last_day": day(3, 3), "today": TODAY}
    with_own = availability(**kwargs)[item_type.pk]
    without_own = availability(**kwargs, exclude_reservation_id=own.pk)[item_type.pk]

    assert held_by_day(with_own) == {day(3, 2): 2, day(3, 3): 3}
    assert held_by_day(without_own) == {day(3, 2): 0, day(3, 3): 1}


def test_unknown_item_type_ids_are_left_out(item_type):
    result = availability(
        item_type_ids=[item_type.pk, item_type.pk + 1000], first_day=day(3, 1), last_day=day(3, 1), today=TODAY
    )

    assert list(result) == [item_type.pk]


def test_it_refuses_a_window_that_ends_before_it_starts(item_type):
    with pytest.raises(ValueError):
        availability(item_type_ids=[item_type.pk], first_day=day(3, 2), last_day=day(3, 1), today=TODAY)


def test_it_refuses_to_answer_for_a_day_outside_the_window(item_type, reserve):
    reserve({item_type: 3}, pickup_day=day(3, 8), return_day=day(3, 8))
    entry = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(3, 7), today=TODAY)[
        item_type.pk
    ]

    # Before the fix a day before the window read the window from its end (Python's negative index).
    with pytest.raises(ValueError):
        entry.on(day(2, 28))
    with pytest.raises(ValueError):
        entry.on(day(3, 8))
    with pytest.raises(ValueError):
        entry.min_free(day(2, 27), day(3, 2))


def test_it_answers_one_item_type_in_two_queries(django_assert_num_queries, item_type, reserve):
    reserve({item_type: 1}, pickup_day=day(3, 2), return_day=day(3, 3))

    with django_assert_num_queries(2):
        result = availability(item_type_ids=[item_type.pk], first_day=day(3, 1), last_day=day(5, 31), today=TODAY)

    assert result[item_type.pk].on(day(3, 2)).held == 1


def test_it_answers_fifty_item_types_with_many_reservations_in_two_queries(
    django_assert_num_queries, location, school_a
):
    item_types = [factories.make_item_type(location=location, units=0, turnaround_days=index % 3) for index in range(50)]
    factories.Unit.objects.bulk_create(
        factories.Unit(item_type=item_type, asset_tag=f"Q-{item_type.pk}-{number}")
        for item_type in item_types
        for number in range(4)
    )
    statuses = [ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT, ReservationStatus.CANCELLED]
    reservations = Reservation.objects.bulk_create(
        Reservation(
            location=location, school=school_a, pickup_slot=factories.SLOT, status=statuses[index % 3],
            pickup_day=day(2, 1) + datetime.timedelta(days=index % 60),
            return_day=day(2, 1) + datetime.timedelta(days=index % 60 + index % 9),
            code=f"BULK{index:06d}",
        )
        for index in range(300)
    )
    ReservationLine.objects.bulk_create(
        ReservationLine(reservation=reservation, item_type=item_types[(index + offset) % 50], quantity=1)
        for index, reservation in enumerate(reservations)
        for offset in (0, 17)
    )

    with django_assert_num_queries(2):
        result = availability(
            item_type_ids=[item_type.pk for item_type in item_types], first_day=day(3, 1), last_day=day(4, 30),
            today=TODAY,
        )

    assert len(result) == 50
    assert all(entry.loanable == 4 for entry in result.values())
    assert sum(held for entry in result.values() for held in entry.held_per_day) > 0


def test_many_item_types_at_once_give_the_same_answer_as_one_at_a_time(location, school_a, reserve):
    # Beyond FEW_ITEM_TYPES the engine reads the whole window and filters in Python; the answer
    # must not change, and another location's bookings must not leak in.
    item_types = [factories.make_item_type(location=location, units=3, turnaround_days=index % 3)
                  for index in range(FEW_ITEM_TYPES + 5)]
    for index, each in enumerate(item_types[::2]):
        reserve({each.pk: 1 + index % 3}, day(3, 2 + index % 7), day(3, 9 + index % 5))
    elsewhere = factories.make_location()
    foreign = factories.make_item_type(location=elsewhere, units=1)
    factories.make_reservation(location=elsewhere, school=school_a, lines={foreign.pk: 1},
                               pickup_day=day(3, 2), return_day=day(3, 10))
    # The last item type is booked but not asked for: its lines are read and must be skipped.
    asked = item_types[:-1]
    everything = availability(item_type_ids=[each.pk for each in asked], first_day=day(3, 1),
                              last_day=day(3, 20), today=TODAY)
    assert set(everything) == {each.pk for each in asked}
    for each in asked:
        alone = availability(item_type_ids=[each.pk], first_day=day(3, 1), last_day=day(3, 20), today=TODAY)
        assert held_by_day(everything[each.pk]) == held_by_day(alone[each.pk])
    assert any(held_by_day(everything[each.pk])[day(3, 9)] for each in asked)
    assert foreign.pk not in everything
