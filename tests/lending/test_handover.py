"""Hand-over at the counter: assigning scanned units, confirming, no-shows; and what they refuse."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from catalog.models import UnitStatus
from lending import services
from lending.availability import availability
from lending.models import Handover, Reservation, ReservationEvent, ReservationStatus, UnitEvent
from lending.selectors import reservation_handover_state, reservations_handover_states
from lending.services import (
    handover_assign_unit,
    handover_complete,
    reservation_cancel,
    reservation_change,
    reservation_mark_no_show,
    reservations_mark_no_shows,
)
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, TUESDAY, WEDNESDAY, refused_at_counter, travel_to


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    """Tuesday 2 March 2027, 10:00: a counter day."""
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def robots(location):
    return factories.make_item_type(location=location, name="Ozobot-Klassensatz", units=2)


@pytest.fixture
def booking(location, school_a, teacher_a, item_type, robots):
    """Teacher A picks up two VR cases and one robot set today, back next Wednesday."""
    return factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 2, robots: 1},
        pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY,
    )


@pytest.fixture
def other_booking(location, school_b, teacher_b, item_type):
    return factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={item_type: 1},
        pickup_day=TUESDAY, return_day=WEDNESDAY,
    )


def units_of(item_type):
    return list(item_type.units.order_by("pk"))


refused = refused_at_counter


# Assigning units ----------------------------------------------------------------------------------


def test_it_assigns_a_unit_and_logs_it_on_unit_and_booking(booking, item_type, clerk):
    unit = units_of(item_type)[0]

    handover = handover_assign_unit(reservation=booking, unit=unit, actor=clerk)

    handover.refresh_from_db()
    assert (handover.reservation, handover.unit, handover.handed_out_by) == (booking, unit, clerk)
    assert handover.returned_at is None and handover.return_condition == ""
    unit_event = UnitEvent.objects.get(unit=unit)
    assert (unit_event.action, unit_event.actor, unit_event.data["reservation"]) == (
        UnitEvent.Action.HANDED_OUT, clerk, booking.code
    )
    event = ReservationEvent.objects.get(reservation=booking)
    assert (event.action, event.data) == (
        ReservationEvent.Action.UNIT_ASSIGNED, {"unit": unit.asset_tag, "item_type": item_type.pk}
    )
    booking.refresh_from_db()
    assert booking.status == ReservationStatus.CONFIRMED  # until the clerk confirms
    assert reservation_handover_state(booking) == "partly_handed_out"


def test_it_refuses_a_unit_of_an_item_type_not_booked(booking, location, clerk):
    projector = factories.make_item_type(location=location, units=1)

    assert refused(handover_assign_unit, reservation=booking, unit=units_of(projector)[0], actor=clerk) == "wrong_item_type"


@pytest.mark.parametrize("status", [UnitStatus.MAINTENANCE, UnitStatus.LOST, UnitStatus.RETIRED])
def test_it_refuses_a_unit_that_is_not_available(booking, item_type, clerk, status):
    unit = factories.make_unit(item_type=item_type, status=status)

    assert refused(handover_assign_unit, reservation=booking, unit=unit, actor=clerk) == "unit_not_available"


def test_it_refuses_a_unit_already_with_another_borrower(booking, other_booking, item_type, clerk):
    unit = units_of(item_type)[0]
    handover_assign_unit(reservation=other_booking, unit=unit, actor=clerk)

    assert refused(handover_assign_unit, reservation=booking, unit=unit, actor=clerk) == "unit_on_loan"


def test_it_refuses_the_same_unit_scanned_twice(booking, item_type, clerk):
    unit = units_of(item_type)[0]
    handover_assign_unit(reservation=booking, unit=unit, actor=clerk)

    assert refused(handover_assign_unit, reservation=booking, unit=unit, actor=clerk) == "unit_already_assigned"


def test_it_refuses_more_units_than_booked(booking, robots, clerk):
    first, second = units_of(robots)
    handover_assign_unit(reservation=booking, unit=first, actor=clerk)

    assert refused(handover_assign_unit, reservation=booking, unit=second, actor=clerk) == "quantity_reached"


@pytest.mark.parametrize("status", [ReservationStatus.CANCELLED, ReservationStatus.RETURNED, ReservationStatus.NO_SHOW])
def test_it_refuses_a_booking_that_is_over(booking, item_type, clerk, status):
    Reservation.objects.filter(pk=booking.pk).update(status=status)

    assert refused(handover_assign_unit, reservation=booking, unit=units_of(item_type)[0], actor=clerk) == "not_handoverable"


def test_it_refuses_a_booking_whose_return_day_has_passed(booking, item_type, clerk, time_machine):
    travel_to(time_machine, NEXT_WEDNESDAY + datetime.timedelta(days=1))

    assert refused(handover_assign_unit, reservation=booking, unit=units_of(item_type)[0], actor=clerk) == "not_handoverable"


def test_it_refuses_before_the_pickup_day(location, school_a, teacher_a, item_type, clerk):
    later = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY,
    )

    assert refused(handover_assign_unit, reservation=later, unit=units_of(item_type)[0], actor=clerk) == "not_pickup_day_yet"


def test_the_database_refuses_a_second_open_handover_of_a_unit(booking, other_booking, item_type):
    unit = units_of(item_type)[0]
    Handover.objects.create(reservation=booking, unit=unit)

    with pytest.raises(IntegrityError), transaction.atomic():
        Handover.objects.create(reservation=other_booking, unit=unit)


def test_the_database_allows_a_new_handover_once_the_unit_is_back(booking, other_booking, item_type):
    unit = units_of(item_type)[0]
    first = Handover.objects.create(reservation=booking, unit=unit)
    Handover.objects.filter(pk=first.pk).update(returned_at=first.handed_out_at, return_condition="complete")

    Handover.objects.create(reservation=other_booking, unit=unit)

    assert Handover.objects.filter(unit=unit).count() == 2


def test_a_check_that_misses_the_open_handover_is_caught_by_the_constraint(
    booking, other_booking, item_type, clerk, monkeypatch
):
    unit = units_of(item_type)[0]
    handover_assign_unit(reservation=other_booking, unit=unit, actor=clerk)
    monkeypatch.setattr(services, "_open_handover", lambda unit_id: None)

    assert refused(handover_assign_unit, reservation=booking, unit=unit, actor=clerk) == "unit_on_loan"


# Confirming the hand-over ---------------------------------------------------------------------------


def test_confirming_hands_out_what_was_scanned_even_if_less_than_booked(booking, item_type, robots, clerk):
    cases = units_of(item_type)
    handover_assign_unit(reservation=booking, unit=cases[0], actor=clerk)
    handover_assign_unit(reservation=booking, unit=units_of(robots)[0], actor=clerk)

    handover_complete(reservation=booking, actor=clerk)

    booking.refresh_from_db()
    assert booking.status == ReservationStatus.HANDED_OUT
    event = ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.HANDED_OUT)
    assert event.actor == clerk
    assert event.data == {"units": sorted([cases[0].asset_tag, units_of(robots)[0].asset_tag]), "complete": False,
                          "collected_by": "borrower"}
    assert reservation_handover_state(booking) == "partly_handed_out"

    # The missing case can still be handed out later; then the booking is fully out.
    handover_assign_unit(reservation=booking, unit=cases[1], actor=clerk)
    assert reservation_handover_state(booking) == "handed_out"


def test_confirming_with_every_booked_unit_records_a_complete_handover(booking, item_type, robots, clerk):
    for unit in units_of(item_type)[:2] + units_of(robots)[:1]:
        handover_assign_unit(reservation=booking, unit=unit, actor=clerk)

    handover_complete(reservation=booking, actor=clerk)

    assert ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.HANDED_OUT).data["complete"]
    booking.refresh_from_db()
    assert reservation_handover_state(booking) == "handed_out"


def test_confirming_refuses_when_nothing_was_scanned(booking, clerk):
    assert refused(handover_complete, reservation=booking, actor=clerk) == "nothing_handed_out"


def test_confirming_refuses_a_booking_already_handed_out(booking, item_type, clerk):
    handover_assign_unit(reservation=booking, unit=units_of(item_type)[0], actor=clerk)
    handover_complete(reservation=booking, actor=clerk)

    assert refused(handover_complete, reservation=booking, actor=clerk) == "not_handoverable"


def test_a_booking_with_a_unit_assigned_cannot_be_cancelled_or_changed(booking, item_type, teacher_a, clerk):
    handover_assign_unit(reservation=booking, unit=units_of(item_type)[0], actor=clerk)

    assert refused(reservation_cancel, reservation=booking, actor=teacher_a) == "not_cancellable"
    assert refused(reservation_change, reservation=booking, actor=teacher_a, lines={item_type.pk: 1}) == "not_changeable"


def test_a_booking_can_be_cancelled_again_once_the_scan_is_undone(booking, item_type, teacher_a, clerk):
    unit = units_of(item_type)[0]
    handover_assign_unit(reservation=booking, unit=unit, actor=clerk)
    services.takeback_unit(unit=unit, actor=clerk, condition="complete")

    reservation_cancel(reservation=booking, actor=teacher_a)

    booking.refresh_from_db()
    assert booking.status == ReservationStatus.CANCELLED


def test_a_booking_handed_out_with_fewer_units_still_holds_what_it_booked(booking, item_type, clerk):
    handover_assign_unit(reservation=booking, unit=units_of(item_type)[0], actor=clerk)
    handover_complete(reservation=booking, actor=clerk)

    entry = availability(item_type_ids=[item_type.pk], first_day=TUESDAY, last_day=NEXT_WEDNESDAY, today=TUESDAY)
    assert entry[item_type.pk].min_free(TUESDAY, NEXT_WEDNESDAY) == 1  # 3 units, 2 booked, 1 of them out


# States for the agenda ------------------------------------------------------------------------------


def test_the_agenda_states_of_many_bookings_come_in_two_queries(
    booking, other_booking, item_type, clerk, django_assert_num_queries
):
    handover_assign_unit(reservation=other_booking, unit=units_of(item_type)[2], actor=clerk)
    other_booking = handover_complete(reservation=other_booking, actor=clerk)
    cancelled = factories.make_reservation(
        location=booking.location, school=booking.school, lines={item_type: 1}, pickup_day=TUESDAY,
        return_day=TUESDAY, status=ReservationStatus.CANCELLED,
    )

    with django_assert_num_queries(2):
        states = reservations_handover_states([booking, other_booking, cancelled])

    assert states == {booking.pk: "waiting", other_booking.pk: "handed_out", cancelled.pk: None}


# No-shows ---------------------------------------------------------------------------------------------


def test_a_booking_not_picked_up_is_marked_and_frees_its_units(booking, item_type, clerk):
    reservation_mark_no_show(reservation=booking, actor=clerk)

    booking.refresh_from_db()
    assert booking.status == ReservationStatus.NO_SHOW
    assert booking.sequence == 1
    assert ReservationEvent.objects.get(reservation=booking).action == ReservationEvent.Action.NO_SHOW
    entry = availability(item_type_ids=[item_type.pk], first_day=TUESDAY, last_day=NEXT_WEDNESDAY, today=TUESDAY)
    assert entry[item_type.pk].min_free(TUESDAY, NEXT_WEDNESDAY) == 3


def test_no_show_is_refused_before_the_pickup_day(location, school_a, teacher_a, item_type, clerk):
    later = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY,
    )

    assert refused(reservation_mark_no_show, reservation=later, actor=clerk) == "no_show_not_allowed"


def test_no_show_is_refused_once_a_unit_is_assigned(booking, item_type, clerk):
    handover_assign_unit(reservation=booking, unit=units_of(item_type)[0], actor=clerk)

    assert refused(reservation_mark_no_show, reservation=booking, actor=clerk) == "no_show_not_allowed"


@pytest.mark.parametrize("status", [ReservationStatus.HANDED_OUT, ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW])
def test_no_show_is_refused_for_a_booking_that_is_not_waiting(booking, clerk, status):
    Reservation.objects.filter(pk=booking.pk).update(status=status)

    assert refused(reservation_mark_no_show, reservation=booking, actor=clerk) == "no_show_not_allowed"


def test_closing_the_day_marks_only_bookings_due_by_then_with_nothing_out(
    booking, other_booking, location, school_a, teacher_a, item_type, clerk
):
    handover_assign_unit(reservation=other_booking, unit=units_of(item_type)[0], actor=clerk)
    tomorrow = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=WEDNESDAY, return_day=NEXT_WEDNESDAY,
    )
    last_week = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=TUESDAY - datetime.timedelta(days=7), return_day=TUESDAY - datetime.timedelta(days=6),
    )

    marked = reservations_mark_no_shows(day=WEDNESDAY, actor=None)  # never beyond today

    assert sorted(reservation.pk for reservation in marked) == sorted([booking.pk, last_week.pk])
    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert statuses[booking.pk] == statuses[last_week.pk] == ReservationStatus.NO_SHOW
    assert statuses[other_booking.pk] == statuses[tomorrow.pk] == ReservationStatus.CONFIRMED
