"""Bookings racing for the last units and the last slot places, one thread and connection each.

These run in real transactions (transaction=True): each thread opens its own database connection,
as concurrent requests would, and all start together at a barrier. On SQLite the IMMEDIATE
transactions queue the writers; on PostgreSQL the row locks on item types and location do.
"""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import Reservation, ReservationLine, ReservationStatus
from lending.services import reservation_change, reservation_create
from tests import factories

THREADS = 16
NINE = datetime.time(9, 0)

pytestmark = pytest.mark.django_db(transaction=True)


def race(attempts):
    """Run each attempt in its own thread, all released at once; return their outcomes in order.

    An outcome is ("booked", reservation pk), ("refused", code) or ("error", repr) for anything
    else (a "database is locked", a deadlock, a crash), which no test accepts.
    """
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("booked", attempt().pk)
        except BookingError as error:
            outcomes[index] = ("refused", error.code)
        except BaseException as error:  # noqa: BLE001 - every other outcome is a failure to report
            outcomes[index] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, attempt)) for index, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a booking thread hangs (deadlock?)"
    return outcomes


def teachers(count):
    result = []
    for _ in range(count):
        school = factories.make_school()
        result.append((factories.make_user(schools=[school]), school))
    return result


def held_never_exceeds_loanable(item_type, first_day, last_day):
    entry = availability(
        item_type_ids=[item_type.pk], first_day=first_day, last_day=last_day, today=timezone.localdate()
    )[item_type.pk]
    return all(day.held <= day.loanable for _, day in entry.days())


def test_only_as_many_bookings_as_units_are_free_win_the_race():
    location = factories.make_location(slot_capacity=THREADS * 2)
    item_type = factories.make_item_type(location=location, units=5)
    pickup_day = factories.counter_day(weekday=2, at_least_days_ahead=7)
    return_day = pickup_day + datetime.timedelta(days=1)
    [(first_teacher, first_school)] = teachers(1)
    reservation_create(
        borrower=first_teacher, school=first_school, pickup_day=pickup_day, pickup_slot=NINE,
        return_day=return_day, lines={item_type.pk: 2},
    )
    free_before = 3

    def attempt(borrower, school):
        return lambda: reservation_create(
            borrower=borrower, school=school, pickup_day=pickup_day, pickup_slot=NINE, return_day=return_day,
            lines={item_type.pk: 1},
        )

    outcomes = race([attempt(borrower, school) for borrower, school in teachers(THREADS)])

    assert [outcome for outcome in outcomes if outcome[0] == "error"] == []
    booked = [outcome for outcome in outcomes if outcome[0] == "booked"]
    refused = [outcome for outcome in outcomes if outcome[0] == "refused"]
    assert len(booked) == free_before
    assert refused == [("refused", "not_enough_units")] * (THREADS - free_before)
    assert Reservation.objects.count() == 1 + free_before
    assert ReservationLine.objects.filter(item_type=item_type).count() == 1 + free_before
    assert set(Reservation.objects.values_list("status", flat=True)) == {ReservationStatus.CONFIRMED}
    assert held_never_exceeds_loanable(item_type, pickup_day, return_day)


def test_only_as_many_bookings_as_a_slot_takes_win_the_race_for_it():
    # Every thread books a different item type, so only the lock on the location serialises them.
    location = factories.make_location(slot_capacity=3)
    item_types = [factories.make_item_type(location=location, units=1) for _ in range(THREADS)]
    pickup_day = factories.counter_day(weekday=3, at_least_days_ahead=7)

    def attempt(borrower, school, item_type):
        return lambda: reservation_create(
            borrower=borrower, school=school, pickup_day=pickup_day, pickup_slot=NINE, return_day=pickup_day,
            lines={item_type.pk: 1},
        )

    outcomes = race([
        attempt(borrower, school, item_type) for (borrower, school), item_type in zip(teachers(THREADS), item_types)
    ])

    assert [outcome for outcome in outcomes if outcome[0] == "error"] == []
    assert sum(1 for outcome in outcomes if outcome[0] == "booked") == 3
    assert [outcome for outcome in outcomes if outcome[0] == "refused"] == [("refused", "slot_full")] * (THREADS - 3)
    assert Reservation.objects.filter(location=location, pickup_day=pickup_day, pickup_slot=NINE).count() == 3


def test_changes_and_new_bookings_racing_for_the_same_week_never_overbook():
    # Eight bookings hold all eight units in one week; each tries to move to the next week while
    # eight new bookings try to take that week. Only eight can have it, in whatever mix.
    location = factories.make_location(slot_capacity=THREADS * 2)
    item_type = factories.make_item_type(location=location, units=8)
    first_week = factories.counter_day(weekday=2, at_least_days_ahead=7)
    second_week = first_week + datetime.timedelta(days=7)
    movers = []
    for borrower, school in teachers(8):
        movers.append(reservation_create(
            borrower=borrower, school=school, pickup_day=first_week, pickup_slot=NINE, return_day=first_week,
            lines={item_type.pk: 1},
        ))

    def move(reservation):
        return lambda: reservation_change(
            reservation=reservation, actor=reservation.borrower, pickup_day=second_week, return_day=second_week
        )

    def create(borrower, school):
        return lambda: reservation_create(
            borrower=borrower, school=school, pickup_day=second_week, pickup_slot=NINE, return_day=second_week,
            lines={item_type.pk: 1},
        )

    attempts = []
    for reservation, (borrower, school) in zip(movers, teachers(8)):
        attempts += [move(reservation), create(borrower, school)]
    outcomes = race(attempts)

    assert [outcome for outcome in outcomes if outcome[0] == "error"] == []
    assert sum(1 for outcome in outcomes if outcome[0] == "booked") == 8
    assert {outcome for outcome in outcomes if outcome[0] == "refused"} == {("refused", "not_enough_units")}
    in_second_week = Reservation.objects.filter(pickup_day=second_week, status=ReservationStatus.CONFIRMED)
    assert in_second_week.count() == 8
    assert held_never_exceeds_loanable(item_type, first_week, second_week)
