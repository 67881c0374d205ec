"""Waiting-list offers racing bookings and each other, one thread and connection each, on the
database under test (SQLite's IMMEDIATE transactions, PostgreSQL's row locks): a unit is never
promised twice, neither to two people waiting nor to a waiting person and a new booking."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import Reservation, ReservationStatus, WaitlistEntry
from lending.services import reservation_cancel, reservation_create
from lending.waitlist import waitlist_join, waitlist_offer_book, waitlist_process
from tests import factories
from tests.lending.test_concurrency import race, teachers

NINE = datetime.time(9, 0)
pytestmark = pytest.mark.django_db(transaction=True)


def promised(item_type, day):
    """Units held on `day` by bookings and open offers together, and the loanable count."""
    entry = availability(item_type_ids=[item_type.pk], first_day=day, last_day=day,
                         today=timezone.localdate())[item_type.pk]
    return entry.on(day).held, entry.loanable


def setting(units=3, waiting=4, quantity=1):
    location = factories.make_location(slot_capacity=50)
    item_type = factories.make_item_type(location=location, units=units)
    pickup_day = factories.counter_day(weekday=2, at_least_days_ahead=7)
    return_day = pickup_day + datetime.timedelta(days=1)
    (holder, holder_school), *people = teachers(1 + waiting)
    held = reservation_create(borrower=holder, school=holder_school, pickup_day=pickup_day, pickup_slot=NINE,
                              return_day=return_day, lines={item_type.pk: units})
    entries = [waitlist_join(borrower=teacher, school=school, item_type=item_type, quantity=quantity,
                             pickup_day=pickup_day, pickup_slot=NINE, return_day=return_day)
               for teacher, school in people]
    return item_type, pickup_day, return_day, held, holder, entries


def test_a_cancellation_racing_new_bookings_while_people_wait_never_promises_a_unit_twice():
    item_type, pickup_day, return_day, held, holder, entries = setting(units=3, waiting=2)
    latecomers = teachers(6)

    def cancel():
        return reservation_cancel(reservation=held, actor=holder)

    def booking(teacher, school):
        return lambda: reservation_create(borrower=teacher, school=school, pickup_day=pickup_day, pickup_slot=NINE,
                                          return_day=return_day, lines={item_type.pk: 1})

    outcomes = race([cancel] + [booking(teacher, school) for teacher, school in latecomers])
    assert not [outcome for outcome in outcomes if outcome[0] == "error"], outcomes
    offered = WaitlistEntry.objects.filter(status=WaitlistEntry.Status.OFFERED).count()
    booked = Reservation.objects.filter(status=ReservationStatus.CONFIRMED).count()
    # The freed units are offered in the cancellation's own transaction, so nobody books them
    # before the two people waiting have their offers; the third unit goes to at most one latecomer.
    assert offered == 2, outcomes
    assert booked <= 1, outcomes
    held_units, loanable = promised(item_type, pickup_day)
    assert held_units == offered + booked and loanable == 3
    assert sorted(outcome[1] for outcome in outcomes[1:] if outcome[0] == "refused") == (
        ["not_enough_units"] * (len(latecomers) - booked))


def test_two_people_taking_their_offers_for_the_last_units_and_a_new_booking_racing_them():
    item_type, pickup_day, return_day, held, holder, entries = setting(units=2, waiting=2)
    reservation_cancel(reservation=held, actor=holder)
    assert WaitlistEntry.objects.filter(status=WaitlistEntry.Status.OFFERED).count() == 2
    [(stranger, stranger_school)] = teachers(1)

    def take(entry):
        return lambda: waitlist_offer_book(entry=WaitlistEntry.objects.get(pk=entry.pk), actor=entry.borrower)

    outcomes = race([take(entries[0]), take(entries[1]), take(entries[0]),
                     lambda: reservation_create(borrower=stranger, school=stranger_school, pickup_day=pickup_day,
                                                pickup_slot=NINE, return_day=return_day, lines={item_type.pk: 1})])
    assert not [outcome for outcome in outcomes if outcome[0] == "error"], outcomes
    # Each offer is booked once (the double click is refused); the stranger finds nothing free.
    assert sorted(outcome[1] if outcome[0] == "refused" else "booked" for outcome in outcomes) == [
        "booked", "booked", "not_enough_units", "offer_not_open"]
    assert promised(item_type, pickup_day) == (2, 2)


def test_two_periodic_passes_at_once_offer_nothing_twice(time_machine):
    item_type, pickup_day, return_day, held, holder, entries = setting(units=2, waiting=4)
    # The units come free by a way no service saw: the holder's booking is deleted in the admin.
    Reservation.objects.filter(pk=held.pk).update(status=ReservationStatus.CANCELLED)
    outcomes = [None, None]
    barrier = threading.Barrier(2)

    def run(index):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = waitlist_process()
        except BaseException as error:  # noqa: BLE001
            outcomes[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == [0, 2], outcomes
    assert WaitlistEntry.objects.filter(status=WaitlistEntry.Status.OFFERED).count() == 2
    assert promised(item_type, pickup_day) == (2, 2)


def test_refusals_in_the_race_are_refusals_not_errors():
    item_type, pickup_day, return_day, held, holder, entries = setting(units=1, waiting=1)
    with pytest.raises(BookingError) as excinfo:
        waitlist_offer_book(entry=entries[0], actor=entries[0].borrower)
    assert excinfo.value.code == "offer_not_open"
