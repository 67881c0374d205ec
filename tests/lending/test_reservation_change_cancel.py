"""reservation_change and reservation_cancel: what they write, when they refuse, what they free."""

import datetime

import pytest

from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import Reservation, ReservationEvent, ReservationLine, ReservationStatus
from lending.services import reservation_cancel, reservation_change
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, TUESDAY, WEDNESDAY, travel_to, written

NINE = datetime.time(9, 0)
HALF_PAST_NINE = datetime.time(9, 30)
TUESDAY_AFTER = datetime.date(2027, 3, 16)
WEDNESDAY_AFTER = datetime.date(2027, 3, 17)

pytestmark = pytest.mark.usefixtures("monday")


@pytest.fixture
def booking(teacher_a, item_type):
    """Teacher A holds one unit of the three from next Tuesday to next Wednesday."""
    return factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)


def refused(call, **arguments):
    before = written()
    with pytest.raises(BookingError) as excinfo:
        call(**arguments)
    assert written() == before
    return excinfo.value


def free_units(item_type, first_day, last_day):
    return availability(
        item_type_ids=[item_type.pk], first_day=first_day, last_day=last_day, today=datetime.date(2027, 3, 1)
    )[item_type.pk].min_free(first_day, last_day)


# Change ----------------------------------------------------------------------------------------


def test_it_moves_the_dates_and_logs_before_and_after(booking, teacher_a, item_type):
    changed = reservation_change(
        reservation=booking, actor=teacher_a, pickup_day=TUESDAY_AFTER, pickup_slot=HALF_PAST_NINE,
        return_day=WEDNESDAY_AFTER,
    )

    booking.refresh_from_db()
    assert (booking.pickup_day, booking.pickup_slot, booking.return_day) == (TUESDAY_AFTER, HALF_PAST_NINE, WEDNESDAY_AFTER)
    assert booking.sequence == changed.sequence == 1
    assert booking.status == ReservationStatus.CONFIRMED
    event = ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.CHANGED)
    assert event.actor == teacher_a
    assert event.data["before"]["pickup_day"] == "2027-03-09"
    assert event.data["after"] == {
        "pickup_day": "2027-03-16", "pickup_slot": "09:30", "return_day": "2027-03-17",
        "lines": {str(item_type.pk): 1},
    }
    assert free_units(item_type, NEXT_TUESDAY, NEXT_WEDNESDAY) == 3
    assert free_units(item_type, TUESDAY_AFTER, WEDNESDAY_AFTER) == 2


def test_what_is_not_given_stays(booking, teacher_a):
    reservation_change(reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER)

    booking.refresh_from_db()
    assert (booking.pickup_day, booking.pickup_slot, booking.return_day) == (NEXT_TUESDAY, NINE, TUESDAY_AFTER)
    assert list(booking.lines.values_list("quantity", flat=True)) == [1]


def test_it_changes_quantities_adds_and_removes_lines(booking, teacher_a, item_type, location):
    robots = factories.make_item_type(location=location, units=5)

    reservation_change(reservation=booking, actor=teacher_a, lines={item_type.pk: 3, robots.pk: 2})
    assert sorted(booking.lines.values_list("item_type_id", "quantity")) == [(item_type.pk, 3), (robots.pk, 2)]

    reservation_change(reservation=booking, actor=teacher_a, lines={robots.pk: 4})
    assert list(booking.lines.values_list("item_type_id", "quantity")) == [(robots.pk, 4)]
    assert free_units(item_type, NEXT_TUESDAY, NEXT_WEDNESDAY) == 3
    event = ReservationEvent.objects.filter(reservation=booking, action=ReservationEvent.Action.CHANGED).last()
    assert event.data["before"]["lines"] == {str(item_type.pk): 3, str(robots.pk): 2}
    assert event.data["after"]["lines"] == {str(robots.pk): 4}


def test_every_change_bumps_the_sequence(booking, teacher_a):
    reservation_change(reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER)
    reservation_change(reservation=booking, actor=teacher_a, return_day=WEDNESDAY_AFTER)

    booking.refresh_from_db()
    assert booking.sequence == 2
    assert ReservationEvent.objects.filter(reservation=booking, action=ReservationEvent.Action.CHANGED).count() == 2


def test_a_change_counts_the_units_the_reservation_already_holds_as_free(teacher_a, location):
    item_type = factories.make_item_type(location=location, units=2)
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 2}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)

    reservation_change(reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER)

    booking.refresh_from_db()
    assert booking.return_day == TUESDAY_AFTER


def test_it_refuses_a_change_into_days_another_booking_holds(booking, teacher_a, teacher_b, item_type):
    factories.book(borrower=teacher_b, lines={item_type.pk: 3}, pickup_day=TUESDAY_AFTER, return_day=TUESDAY_AFTER)

    error = refused(reservation_change, reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER)

    assert error.code == "not_enough_units"


def test_it_refuses_more_units_than_are_free_in_a_change(booking, teacher_a, teacher_b, item_type):
    factories.book(borrower=teacher_b, lines={item_type.pk: 1}, pickup_day=NEXT_WEDNESDAY, return_day=NEXT_WEDNESDAY)

    error = refused(reservation_change, reservation=booking, actor=teacher_a, lines={item_type.pk: 3})

    assert error.code == "not_enough_units"


def test_a_date_change_checks_lines_added_since_the_reservation_was_read(booking, teacher_a, teacher_b, location):
    # A page reads the reservation with its lines, another tab adds a line, then the page moves
    # the dates: the check must cover the line it has not seen.
    robots = factories.make_item_type(location=location, units=1)
    factories.book(borrower=teacher_b, lines={robots.pk: 1}, pickup_day=TUESDAY_AFTER, return_day=TUESDAY_AFTER)
    seen_by_the_page = Reservation.objects.prefetch_related("lines").get(pk=booking.pk)
    list(seen_by_the_page.lines.all())
    reservation_change(reservation=booking, actor=teacher_a, lines={booking.lines.get().item_type_id: 1, robots.pk: 1})

    error = refused(reservation_change, reservation=seen_by_the_page, actor=teacher_a, return_day=TUESDAY_AFTER)

    assert error.code == "not_enough_units"
    assert error.params["item_type"] == robots.pk


def test_a_change_checks_the_lines_in_the_database_not_those_the_caller_loaded(
    booking, teacher_a, teacher_b, location, item_type
):
    # A page loads the booking with its lines; meanwhile another tab adds a line of an item type
    # that is fully booked on the new return day. The change must check that line too.
    robots = factories.make_item_type(location=location, units=1)
    factories.book(borrower=teacher_b, lines={robots.pk: 1}, pickup_day=TUESDAY_AFTER, return_day=TUESDAY_AFTER)
    stale = Reservation.objects.prefetch_related("lines").get(pk=booking.pk)
    assert [line.item_type_id for line in stale.lines.all()] == [item_type.pk]
    ReservationLine.objects.create(reservation=booking, item_type=robots, quantity=1)

    error = refused(reservation_change, reservation=stale, actor=teacher_a, return_day=TUESDAY_AFTER)

    assert error.code == "not_enough_units"
    robots_free = availability(
        item_type_ids=[robots.pk], first_day=TUESDAY_AFTER, last_day=TUESDAY_AFTER, today=datetime.date(2027, 3, 1)
    )[robots.pk].on(TUESDAY_AFTER)
    assert robots_free.held <= robots_free.loanable


@pytest.mark.parametrize(
    "status", [ReservationStatus.CANCELLED, ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED, ReservationStatus.NO_SHOW]
)
def test_it_refuses_to_change_a_reservation_that_is_no_longer_confirmed(booking, teacher_a, status):
    Reservation.objects.filter(pk=booking.pk).update(status=status)

    error = refused(reservation_change, reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER)

    assert error.code == "not_changeable"


def test_it_refuses_to_change_after_a_cancel(booking, teacher_a):
    reservation_cancel(reservation=booking, actor=teacher_a)

    error = refused(reservation_change, reservation=booking, actor=teacher_a, lines={booking.lines.get().item_type_id: 2})

    assert error.code == "not_changeable"


def test_it_refuses_to_change_once_the_pickup_day_has_passed(booking, teacher_a, time_machine):
    travel_to(time_machine, NEXT_WEDNESDAY)

    error = refused(reservation_change, reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER)

    assert error.code == "not_changeable"


def test_the_lead_time_counts_only_when_the_pickup_day_moves(teacher_a, location, time_machine):
    item_type = factories.make_item_type(location=location, min_lead_days=3)
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    travel_to(time_machine, datetime.date(2027, 3, 8))  # the Monday before pickup

    reservation_change(reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER)
    error = refused(reservation_change, reservation=booking, actor=teacher_a, pickup_day=NEXT_WEDNESDAY)

    assert error.code == "too_soon"


def test_it_refuses_to_move_the_pickup_too_far_ahead(teacher_a, location):
    item_type = factories.make_item_type(location=location, max_advance_days=20)
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    later = datetime.date(2027, 3, 30)  # a Tuesday, 29 days ahead

    error = refused(reservation_change, reservation=booking, actor=teacher_a, pickup_day=later, return_day=later)

    assert error.code == "too_far_ahead"


def test_the_slot_capacity_counts_only_when_the_day_or_slot_changes(teacher_a, location, item_type):
    location.slot_capacity = 1
    location.save()
    at_nine = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, pickup_slot=NINE)
    at_half_past = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, pickup_slot=HALF_PAST_NINE)

    reservation_change(reservation=at_nine, actor=teacher_a, return_day=TUESDAY_AFTER)
    error = refused(reservation_change, reservation=at_half_past, actor=teacher_a, pickup_slot=NINE)

    assert error.code == "slot_full"


@pytest.mark.parametrize(
    "make_change, code",
    [
        (lambda item_type: {"pickup_day": datetime.date(2027, 3, 11), "return_day": TUESDAY_AFTER}, "not_a_counter_day"),
        (lambda item_type: {"return_day": datetime.date(2027, 3, 8)}, "return_before_pickup"),
        (lambda item_type: {"pickup_slot": datetime.time(9, 10)}, "slot_invalid"),
        (lambda item_type: {"return_day": datetime.date(2027, 4, 14)}, "too_long"),  # 36 days, longest is 28
        (lambda item_type: {"lines": {}}, "quantity_invalid"),
        (lambda item_type: {"lines": {item_type.pk: 0}}, "quantity_invalid"),
        (lambda item_type: {"lines": [(item_type.pk, 2), (item_type.pk, -1)]}, "quantity_invalid"),
        (lambda item_type: {"lines": {item_type.pk + 10_000: 1}}, "quantity_invalid"),
    ],
    ids=["not-a-counter-day", "return-before-pickup", "slot-invalid", "too-long", "no-lines", "zero",
         "negative-line-merged", "unknown-item-type"],
)
def test_a_change_follows_the_booking_rules(booking, teacher_a, item_type, make_change, code):
    error = refused(reservation_change, reservation=booking, actor=teacher_a, **make_change(item_type))

    assert error.code == code


def test_a_change_refuses_a_closed_day(booking, teacher_a, location):
    factories.make_closure(location=location, first_day=TUESDAY_AFTER)

    assert refused(reservation_change, reservation=booking, actor=teacher_a, return_day=TUESDAY_AFTER).code == "closed"


def test_a_change_refuses_a_paused_item(booking, teacher_a, item_type, location):
    paused = factories.make_item_type(location=location, paused=True, paused_reason="Reparatur")

    error = refused(reservation_change, reservation=booking, actor=teacher_a, lines={item_type.pk: 1, paused.pk: 1})

    assert error.code == "item_paused"


def test_a_change_refuses_an_item_that_needs_a_missing_qualification(booking, teacher_a, location):
    qualified = factories.make_item_type(location=location, required_qualification=factories.make_qualification())

    error = refused(reservation_change, reservation=booking, actor=teacher_a, lines={qualified.pk: 1})

    assert error.code == "qualification_missing"


def test_a_change_refuses_an_item_type_of_another_location(booking, teacher_a):
    elsewhere = factories.make_item_type(location=factories.make_location())

    error = refused(reservation_change, reservation=booking, actor=teacher_a, lines={elsewhere.pk: 1})

    assert error.code == "mixed_locations"


# Cancel ----------------------------------------------------------------------------------------


def test_cancelling_frees_the_units_and_logs_it(teacher_a, teacher_b, item_type):
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 3}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    with pytest.raises(BookingError):
        factories.book(borrower=teacher_b, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_TUESDAY)

    cancelled = reservation_cancel(reservation=booking, actor=teacher_a)

    booking.refresh_from_db()
    assert booking.status == cancelled.status == ReservationStatus.CANCELLED
    assert booking.sequence == 1
    assert booking.lines.count() == 1  # kept, so the calendar feed can show what was cancelled
    event = ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.CANCELLED)
    assert event.actor == teacher_a
    assert free_units(item_type, NEXT_TUESDAY, NEXT_WEDNESDAY) == 3
    assert factories.book(borrower=teacher_b, lines={item_type.pk: 3}, pickup_day=NEXT_TUESDAY, return_day=NEXT_TUESDAY).pk


def test_it_refuses_to_cancel_twice(booking, teacher_a):
    reservation_cancel(reservation=booking, actor=teacher_a)

    error = refused(reservation_cancel, reservation=booking, actor=teacher_a)

    assert error.code == "not_cancellable"


def test_it_refuses_to_cancel_once_the_pickup_day_has_passed(booking, teacher_a, time_machine):
    travel_to(time_machine, NEXT_WEDNESDAY)

    error = refused(reservation_cancel, reservation=booking, actor=teacher_a)

    assert error.code == "not_cancellable"


def test_it_cancels_on_the_pickup_day_itself(booking, teacher_a, time_machine):
    travel_to(time_machine, NEXT_TUESDAY, hour=8)

    assert reservation_cancel(reservation=booking, actor=teacher_a).status == ReservationStatus.CANCELLED


@pytest.mark.parametrize("status", [ReservationStatus.HANDED_OUT, ReservationStatus.RETURNED, ReservationStatus.NO_SHOW])
def test_it_refuses_to_cancel_a_reservation_that_is_no_longer_confirmed(booking, teacher_a, status):
    Reservation.objects.filter(pk=booking.pk).update(status=status)

    error = refused(reservation_cancel, reservation=booking, actor=teacher_a)

    assert error.code == "not_cancellable"


def test_counter_staff_can_cancel_for_a_teacher_and_say_why(booking, clerk):
    reservation_cancel(reservation=booking, actor=clerk, reason="  Der VR-Koffer ist in Reparatur. ")

    event = ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.CANCELLED)
    assert event.actor == clerk
    assert event.data == {"reason": "Der VR-Koffer ist in Reparatur."}


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_staff_cancelling_a_teachers_booking_must_say_why_in_at_most_500_characters(booking, clerk, reason):
    error = refused(reservation_cancel, reservation=booking, actor=clerk, reason=reason)

    assert error.code == "cancel_reason_required" and error.http_status == 400
    booking.refresh_from_db()
    assert booking.status == ReservationStatus.CONFIRMED and booking.sequence == 0


def test_the_borrower_cancels_without_a_reason_and_may_give_one(booking, teacher_a):
    reservation_cancel(reservation=booking, actor=teacher_a)

    assert ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.CANCELLED).data == {}


def test_a_booking_that_cannot_be_cancelled_says_so_before_asking_for_a_reason(booking, clerk):
    Reservation.objects.filter(pk=booking.pk).update(status=ReservationStatus.RETURNED)

    assert refused(reservation_cancel, reservation=booking, actor=clerk).code == "not_cancellable"


def test_cancelling_one_booking_leaves_the_others(booking, teacher_b, item_type, teacher_a):
    other = factories.book(borrower=teacher_b, lines={item_type.pk: 2}, pickup_day=TUESDAY, return_day=WEDNESDAY)

    reservation_cancel(reservation=booking, actor=teacher_a)

    other.refresh_from_db()
    assert other.status == ReservationStatus.CONFIRMED
    assert other.sequence == 0


def test_raising_a_quantity_on_short_notice_is_refused_as_too_soon(teacher_a, location, time_machine):
    item_type = factories.make_item_type(location=location, min_lead_days=3, units=5)
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    travel_to(time_machine, NEXT_TUESDAY, hour=8)  # the morning of the pickup

    error = refused(reservation_change, reservation=booking, actor=teacher_a, lines={item_type.pk: 4})

    assert error.code == "too_soon"
    assert booking.lines.get().quantity == 1


def test_adding_an_item_type_on_short_notice_is_refused_as_too_soon(teacher_a, location, item_type, time_machine):
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    needs_notice = factories.make_item_type(location=location, min_lead_days=3)
    travel_to(time_machine, datetime.date(2027, 3, 8))

    error = refused(reservation_change, reservation=booking, actor=teacher_a,
                    lines={item_type.pk: 1, needs_notice.pk: 1})

    assert error.code == "too_soon"


def test_a_booking_of_an_item_paused_since_can_still_shrink(teacher_a, location):
    item_type = factories.make_item_type(location=location, units=3)
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 2}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    item_type.paused, item_type.paused_reason = True, "Akkus werden getauscht"
    item_type.save()

    reservation_change(reservation=booking, actor=teacher_a, lines={item_type.pk: 1})

    assert booking.lines.get().quantity == 1
    error = refused(reservation_change, reservation=booking, actor=teacher_a, lines={item_type.pk: 2})
    assert error.code == "item_paused"


def test_a_closure_entered_later_on_the_pickup_day_does_not_block_other_changes(teacher_a, location, item_type):
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 2}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    factories.make_closure(location=location, first_day=NEXT_TUESDAY, reason="Betriebsversammlung")

    reservation_change(reservation=booking, actor=teacher_a, lines={item_type.pk: 1})

    assert booking.lines.get().quantity == 1
    # A new day is checked as for a new booking.
    factories.make_closure(location=location, first_day=datetime.date(2027, 3, 16), reason="Brückentag")
    error = refused(reservation_change, reservation=booking, actor=teacher_a, return_day=datetime.date(2027, 3, 16))
    assert error.code == "closed"
