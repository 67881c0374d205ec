"""Shared by the booking tests: a frozen Monday and a way to see that nothing was written."""

import datetime
import zoneinfo

import pytest

from lending.models import Reservation, ReservationEvent, ReservationLine

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
