"""Shared by the booking tests: a frozen Monday and a way to see that nothing was written."""

import datetime
import zoneinfo

import pytest

from lending.exceptions import BookingError
from lending.models import Reservation, ReservationEvent, ReservationLine
from lending.services import handover_assign_unit, handover_complete
from tests import factories

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# Monday 1 March 2027, 10:00 in Berlin: the counter days of this week are tomorrow and the day after.
MONDAY = datetime.datetime(2027, 3, 1, 10, 0, tzinfo=BERLIN)
TUESDAY = datetime.date(2027, 3, 2)
WEDNESDAY = datetime.date(2027, 3, 3)
THURSDAY = datetime.date(2027, 3, 4)
NEXT_TUESDAY = datetime.date(2027, 3, 9)
NEXT_WEDNESDAY = datetime.date(2027, 3, 10)


@pytest.fixture
def monday(time_machine):
    time_machine.move_to(MONDAY, tick=False)
    return MONDAY


def travel_to(time_machine, day, hour=10):
    time_machine.move_to(datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=BERLIN), tick=False)


def written():
    """What a booking writes: reservations, lines, events (counted, and the rows themselves)."""
    return (
        list(Reservation.objects.order_by("pk").values_list(
            "pk", "status", "pickup_day", "pickup_slot", "return_day", "sequence"
        )),
        list(ReservationLine.objects.order_by("pk").values_list("pk", "reservation_id", "item_type_id", "quantity")),
        ReservationEvent.objects.count(),
    )


def counter_written():
    """What the counter and damage services write: hand-overs, events, reports, unit and booking states."""
    from catalog.models import Unit
    from lending.models import DamageReport, Handover, UnitEvent

    return (
        list(Handover.objects.order_by("pk").values_list(
            "pk", "unit_id", "reservation_id", "returned_at", "return_condition", "returned_late"
        )),
        UnitEvent.objects.count(),
        ReservationEvent.objects.count(),
        list(DamageReport.objects.order_by("pk").values_list("pk", "status", "resolution", "compensation_amount")),
        list(Unit.objects.order_by("pk").values_list("pk", "status")),
        list(Reservation.objects.order_by("pk").values_list("pk", "status", "sequence")),
    )


@pytest.fixture
def units(item_type):
    return list(item_type.units.order_by("pk"))


@pytest.fixture
def loan(location, school_a, teacher_a, item_type, units, clerk):
    """Teacher A has two VR cases out since Tuesday, due back next Wednesday."""
    reservation = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 2},
        pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY,
    )
    for unit in units[:2]:
        handover_assign_unit(reservation=reservation, unit=unit, actor=clerk)
    return handover_complete(reservation=reservation, actor=clerk)


def refused_at_counter(call, **arguments):
    """Call a counter service that must refuse; return its code and check nothing was written."""
    before = counter_written()
    with pytest.raises(BookingError) as excinfo:
        call(**arguments)
    assert counter_written() == before
    return excinfo.value.code


# Delivery to schools: a counter with a tour (two stops a tour day, a week's notice, packed the day
# before, collected by the tour), a school with an address, its teacher, a deliverable item.


@pytest.fixture
def tour(db):
    return factories.make_delivering_location(name="Medienzentrum Tour", slug="mz-tour")


@pytest.fixture
def school(db):
    return factories.make_school_with_address(name="Gesamtschule Hofseite")


@pytest.fixture
def teacher(school):
    return factories.make_user(username="dora", schools=[school], first_name="Dora", last_name="Dahl")


@pytest.fixture
def vr(tour):
    return factories.make_item_type(location=tour, name="VR-Koffer", slug="vr-tour", units=4, deliverable=True)


@pytest.fixture
def driver(tour):
    driver = factories.make_user(username="fahrer", role=factories.Role.STAFF)
    driver.locations.add(tour)
    return driver
