"""Counters racing each other: scans of the same booking, of the same unit, and a cancel against a scan.

Real transactions (transaction=True), one thread and connection each, released together at a
barrier (see test_concurrency.py). On SQLite the IMMEDIATE transactions queue the writers; on
PostgreSQL the row lock on the reservation (same booking, cancel) or on the unit (same unit) does,
and the partial unique index on open hand-overs backs the unit lock.
"""

import datetime

import pytest
from django.utils import timezone

from lending import services
from lending.models import Handover, Reservation, ReservationStatus
from lending.services import handover_assign_unit, handover_complete, reservation_cancel
from tests import factories
from tests.lending.test_concurrency import race

THREADS = 8

pytestmark = pytest.mark.django_db(transaction=True)


def booking_for_today(*, location, item_type, quantity=1):
    """A confirmed booking to pick up today (written directly: today need not be a counter day)."""
    school = factories.make_school()
    borrower = factories.make_user(schools=[school])
    today = timezone.localdate()
    return factories.make_reservation(
        location=location, school=school, borrower=borrower, lines={item_type: quantity},
        pickup_day=today, return_day=today + datetime.timedelta(days=7),
    )


def errors(outcomes):
    return [outcome for outcome in outcomes if outcome[0] == "error"]


def test_the_last_unit_of_a_booking_scanned_at_several_counters_is_handed_over_once():
    location = factories.make_location()
    item_type = factories.make_item_type(location=location, units=THREADS + 1)
    clerk = factories.make_user(role="staff")
    booking = booking_for_today(location=location, item_type=item_type, quantity=2)
    first, *others = item_type.units.order_by("pk")
    handover_assign_unit(reservation=booking, unit=first, actor=clerk)

    outcomes = race([
        (lambda unit=unit: handover_assign_unit(reservation=booking, unit=unit, actor=clerk)) for unit in others
    ])

    assert errors(outcomes) == []
    assert sum(1 for outcome in outcomes if outcome[0] == "booked") == 1
    assert sorted(outcome for outcome in outcomes if outcome[0] == "refused") == [("refused", "quantity_reached")] * (THREADS - 1)
    assert Handover.objects.filter(reservation=booking, returned_at__isnull=True).count() == 2


def test_a_booking_confirmed_at_two_counters_at_once_is_handed_out_once():
    location = factories.make_location()
    item_type = factories.make_item_type(location=location, units=1)
    clerk = factories.make_user(role="staff")
    booking = booking_for_today(location=location, item_type=item_type)
    handover_assign_unit(reservation=booking, unit=item_type.units.get(), actor=clerk)

    outcomes = race([lambda: handover_complete(reservation=booking, actor=clerk)] * 2)

    assert errors(outcomes) == []
    assert sorted(outcome[0] for outcome in outcomes) == ["booked", "refused"]
    assert ("refused", "not_handoverable") in outcomes
    assert booking.events.filter(action="handed_out").count() == 1


@pytest.mark.parametrize("check_disabled", [False, True], ids=["locked", "constraint-only"])
def test_one_unit_scanned_into_several_bookings_at_once_ends_up_in_one(check_disabled, monkeypatch):
    # constraint-only: with the service's check blinded, the partial unique index alone must
    # still let exactly one hand-over through and turn the others into unit_on_loan.
    location = factories.make_location()
    item_type = factories.make_item_type(location=location, units=1)
    clerk = factories.make_user(role="staff")
    unit = item_type.units.get()
    bookings = [booking_for_today(location=location, item_type=item_type) for _ in range(THREADS)]
    if check_disabled:
        monkeypatch.setattr(services, "_open_handover", lambda unit_id: None)

    outcomes = race([
        (lambda booking=booking: handover_assign_unit(reservation=booking, unit=unit, actor=clerk)) for booking in bookings
    ])

    assert errors(outcomes) == []
    assert sum(1 for outcome in outcomes if outcome[0] == "booked") == 1
    assert [outcome for outcome in outcomes if outcome[0] == "refused"] == [("refused", "unit_on_loan")] * (THREADS - 1)
    assert Handover.objects.filter(unit=unit).count() == 1


def test_a_cancel_racing_a_handover_leaves_exactly_one_outcome():
    location = factories.make_location()
    item_type = factories.make_item_type(location=location, units=THREADS)
    clerk = factories.make_user(role="staff")
    rounds = []
    for unit in item_type.units.order_by("pk"):
        booking = booking_for_today(location=location, item_type=item_type)
        rounds.append((booking, unit))

    seen = set()
    for booking, unit in rounds:
        scan, cancel = race([
            lambda: handover_assign_unit(reservation=booking, unit=unit, actor=clerk),
            lambda: reservation_cancel(reservation=booking, actor=booking.borrower),
        ])

        assert errors([scan, cancel]) == []
        booking.refresh_from_db()
        handovers = Handover.objects.filter(reservation=booking).count()
        if booking.status == ReservationStatus.CANCELLED:
            assert (scan, cancel[0], handovers) == (("refused", "not_handoverable"), "booked", 0)
            seen.add("cancelled")
        else:
            assert booking.status == ReservationStatus.CONFIRMED
            assert (scan[0], cancel, handovers) == ("booked", ("refused", "not_cancellable"), 1)
            seen.add("handed over")
    assert seen  # which wins is up to the scheduler; each round must end in one of the two
    assert Reservation.objects.filter(status=ReservationStatus.CANCELLED, handovers__isnull=False).count() == 0
