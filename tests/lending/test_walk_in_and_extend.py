"""At the counter: walk-in bookings where staff set a rule aside (logged), and extending a loan."""

import datetime

import pytest

from accounts.models import Role
from lending.exceptions import BookingError
from lending.models import Handover, Reservation, ReservationEvent, ReservationStatus
from lending.services import reservation_create, reservation_extend
from tests import factories
from tests.lending.conftest import (
    NEXT_TUESDAY,
    NEXT_WEDNESDAY,
    TUESDAY,
    WEDNESDAY,
    counter_written,
    travel_to,
    written,
)

TEN = datetime.time(10, 0)
FRIDAY_AFTER_NEXT = datetime.date(2027, 3, 12)
TUESDAY_IN_TWO_WEEKS = datetime.date(2027, 3, 16)


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    """Tuesday 2 March 2027, 10:00: the counter is open, walk-ins stand at the desk."""
    travel_to(time_machine, TUESDAY)


def overrides_of(reservation):
    return list(
        ReservationEvent.objects.filter(reservation=reservation, action=ReservationEvent.Action.OVERRIDE)
        .order_by("pk").values_list("actor__username", "data")
    )


def refused(call, **arguments):
    """Call a service that must refuse; check that no booking, line, event, hand-over or unit changed."""
    before = written(), counter_written()
    with pytest.raises(BookingError) as excinfo:
        call(**arguments)
    assert (written(), counter_written()) == before
    return excinfo.value.code


# Walk-in bookings: overriding the lead time and the slot capacity ---------------------------------


@pytest.fixture
def beamer(location):
    """Needs two days' notice, so a booking for today is too soon."""
    return factories.make_item_type(location=location, name="Beamer", min_lead_days=2, units=2)


@pytest.fixture
def walk_in(teacher_a, school_a, clerk):
    """reservation_create as the clerk at the desk: for today at 10:00, back tomorrow."""

    def walk_in(*, lines, **arguments):
        defaults = {
            "borrower": teacher_a, "school": school_a, "pickup_day": TUESDAY, "pickup_slot": TEN,
            "return_day": WEDNESDAY, "lines": lines, "actor": clerk,
        }
        defaults.update(arguments)
        return reservation_create(**defaults)

    return walk_in


@pytest.fixture
def full_slot(location, school_b, teacher_b):
    """Today's 10:00 slot holds as many pickups as it takes (4), of something else entirely."""
    cameras = factories.make_item_type(location=location, name="Kamera", units=4)
    for _ in range(location.slot_capacity):
        factories.make_reservation(
            location=location, school=school_b, borrower=teacher_b, lines={cameras: 1},
            pickup_day=TUESDAY, pickup_slot=TEN, return_day=WEDNESDAY,
        )


def test_without_an_override_a_walk_in_for_today_is_too_soon(walk_in, beamer):
    assert refused(walk_in, lines={beamer: 1}) == "too_soon"


def test_the_clerk_overrides_the_lead_time_and_it_is_logged_once(walk_in, beamer, clerk, teacher_a):
    reservation = walk_in(lines={beamer: 1}, overrides={"too_soon"})

    reservation.refresh_from_db()
    assert (reservation.status, reservation.borrower, reservation.pickup_day, reservation.pickup_slot) == (
        ReservationStatus.CONFIRMED, teacher_a, TUESDAY, TEN
    )
    assert list(reservation.lines.values_list("item_type_id", "quantity")) == [(beamer.pk, 1)]
    assert overrides_of(reservation) == [("clara", {"rule": "too_soon"})]
    created = ReservationEvent.objects.get(reservation=reservation, action=ReservationEvent.Action.CREATED)
    assert created.actor == clerk
    assert ReservationEvent.objects.filter(reservation=reservation).count() == 2


def test_without_an_override_a_full_slot_is_refused(walk_in, item_type, full_slot):
    assert refused(walk_in, lines={item_type: 1}) == "slot_full"


def test_the_clerk_overrides_a_full_slot_and_it_is_logged_once(walk_in, item_type, full_slot, location):
    reservation = walk_in(lines={item_type: 1}, overrides=["slot_full"])

    assert Reservation.objects.filter(
        location=location, pickup_day=TUESDAY, pickup_slot=TEN, status=ReservationStatus.CONFIRMED
    ).count() == location.slot_capacity + 1
    assert overrides_of(reservation) == [("clara", {"rule": "slot_full"})]


def test_two_rules_overridden_at_once_are_logged_as_two_events(walk_in, beamer, full_slot):
    reservation = walk_in(lines={beamer: 1}, overrides={"too_soon", "slot_full"})

    assert sorted(data["rule"] for _, data in overrides_of(reservation)) == ["slot_full", "too_soon"]


def test_an_override_that_was_not_needed_is_not_logged(walk_in, item_type):
    reservation = walk_in(lines={item_type: 1}, overrides={"too_soon", "slot_full"})

    assert overrides_of(reservation) == []
    assert list(ReservationEvent.objects.filter(reservation=reservation).values_list("action", flat=True)) == [
        ReservationEvent.Action.CREATED
    ]


def test_only_the_rule_that_would_have_refused_is_logged(walk_in, beamer):
    reservation = walk_in(lines={beamer: 1}, overrides={"too_soon", "slot_full"})

    assert overrides_of(reservation) == [("clara", {"rule": "too_soon"})]


def test_an_administrator_may_override_at_any_counter(walk_in, beamer, admin_user):
    reservation = walk_in(lines={beamer: 1}, actor=admin_user, overrides={"too_soon"})

    assert overrides_of(reservation) == [("admin", {"rule": "too_soon"})]


@pytest.mark.parametrize("actor", ["teacher_a", "teacher_b", "stranger", None])
def test_only_counter_staff_may_override(walk_in, beamer, request, actor):
    actor = request.getfixturevalue(actor) if actor else None

    assert refused(walk_in, lines={beamer: 1}, actor=actor, overrides={"too_soon"}) == "override_not_allowed"


def test_staff_of_another_counter_may_not_override_here(walk_in, beamer):
    neighbour = factories.make_user(username="nina", role=Role.STAFF)
    neighbour.locations.add(factories.make_location(slug="mz-nachbar"))

    assert refused(walk_in, lines={beamer: 1}, actor=neighbour, overrides={"too_soon"}) == "override_not_allowed"


def test_staff_of_no_counter_may_not_override(walk_in, beamer):
    newcomer = factories.make_user(username="neo", role=Role.STAFF)

    assert refused(walk_in, lines={beamer: 1}, actor=newcomer, overrides={"too_soon"}) == "override_not_allowed"


@pytest.mark.parametrize(
    "overrides",
    [{"not_enough_units"}, {"too_long"}, {"closed"}, {"qualification_missing"}, {"too_soon", "no_such_rule"},
     "too_soon"],
    ids=["not_enough_units", "too_long", "closed", "qualification_missing", "one_unknown_among_known", "a_bare_string"],
)
def test_a_rule_that_may_not_be_overridden_is_refused_as_such(walk_in, beamer, overrides):
    assert refused(walk_in, lines={beamer: 1}, overrides=overrides) == "override_not_allowed"


def test_overrides_never_bypass_missing_units(walk_in, beamer, school_b, teacher_b, location):
    factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={beamer: 2},
        pickup_day=TUESDAY, return_day=WEDNESDAY,
    )

    assert refused(walk_in, lines={beamer: 1}, overrides={"too_soon", "slot_full"}) == "not_enough_units"


def test_overrides_never_allow_a_pickup_day_that_has_passed(walk_in, item_type, time_machine):
    travel_to(time_machine, WEDNESDAY)

    assert refused(
        walk_in, lines={item_type: 1}, pickup_day=TUESDAY, return_day=NEXT_TUESDAY, overrides={"too_soon"}
    ) == "too_soon"


# Extending a loan ----------------------------------------------------------------------------------


def extended_events(reservation):
    return list(
        ReservationEvent.objects.filter(reservation=reservation, action=ReservationEvent.Action.EXTENDED)
        .values_list("actor__username", "data")
    )


def test_a_loan_is_extended_to_a_later_counter_day(loan, clerk):
    # The loan's own two units stay with it: they do not count against the extension.
    handovers = list(Handover.objects.filter(reservation=loan).values_list("pk", "unit_id", "returned_at"))
    events = ReservationEvent.objects.filter(reservation=loan).count()

    reservation_extend(reservation=loan, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS)

    loan.refresh_from_db()
    assert (loan.status, loan.pickup_day, loan.return_day, loan.sequence) == (
        ReservationStatus.HANDED_OUT, TUESDAY, TUESDAY_IN_TWO_WEEKS, 1
    )
    assert extended_events(loan) == [("clara", {"from": "2027-03-10", "to": "2027-03-16"})]
    assert ReservationEvent.objects.filter(reservation=loan).count() == events + 1
    assert list(Handover.objects.filter(reservation=loan).values_list("pk", "unit_id", "returned_at")) == handovers


def test_a_booking_not_picked_up_yet_can_be_extended_too(location, school_a, teacher_a, item_type, clerk):
    booking = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 3},
        pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY,
    )

    reservation_extend(reservation=booking, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS)

    booking.refresh_from_db()
    assert (booking.status, booking.return_day, booking.sequence) == (
        ReservationStatus.CONFIRMED, TUESDAY_IN_TWO_WEEKS, 1
    )
    assert extended_events(booking) == [("clara", {"from": "2027-03-10", "to": "2027-03-16"})]


def test_the_longest_loan_is_inclusive(loan, clerk):
    last_day = TUESDAY + datetime.timedelta(days=28)  # Tuesday 30 March

    reservation_extend(reservation=loan, actor=clerk, return_day=last_day)

    loan.refresh_from_db()
    assert loan.return_day == last_day


def test_a_loan_can_be_extended_twice_and_the_sequence_rises_each_time(loan, clerk):
    reservation_extend(reservation=loan, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS)
    reservation_extend(reservation=loan, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS + datetime.timedelta(days=1))

    loan.refresh_from_db()
    assert loan.sequence == 2
    assert [data["to"] for _, data in extended_events(loan)] == ["2027-03-16", "2027-03-17"]


@pytest.mark.parametrize(
    "return_day", [NEXT_WEDNESDAY, NEXT_TUESDAY, WEDNESDAY], ids=["same day", "earlier", "much earlier"]
)
def test_it_refuses_a_return_day_that_is_not_later(loan, clerk, return_day):
    assert refused(reservation_extend, reservation=loan, actor=clerk, return_day=return_day) == "not_extendable"


@pytest.mark.parametrize("status", [ReservationStatus.CANCELLED, ReservationStatus.RETURNED, ReservationStatus.NO_SHOW])
def test_it_refuses_a_booking_that_is_over(location, school_a, teacher_a, item_type, clerk, status):
    booking = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY, status=status,
    )

    assert refused(
        reservation_extend, reservation=booking, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS
    ) == "not_extendable"


def test_it_refuses_a_day_that_is_not_a_counter_day(loan, clerk):
    assert refused(
        reservation_extend, reservation=loan, actor=clerk, return_day=FRIDAY_AFTER_NEXT
    ) == "not_a_counter_day"


def test_it_refuses_a_closed_day(loan, clerk, location):
    factories.make_closure(location=location, first_day=TUESDAY_IN_TWO_WEEKS, reason="Inventur")

    assert refused(reservation_extend, reservation=loan, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS) == "closed"


def test_it_refuses_a_loan_longer_than_the_item_allows(loan, clerk):
    one_day_too_many = TUESDAY + datetime.timedelta(days=29)  # Wednesday 31 March

    assert refused(reservation_extend, reservation=loan, actor=clerk, return_day=one_day_too_many) == "too_long"


def test_it_refuses_when_the_units_are_booked_by_someone_else_right_after(
    loan, clerk, location, school_b, teacher_b, item_type
):
    # Three VR cases: the loan holds two, teacher B picks up two on the day it would now end.
    factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={item_type: 2},
        pickup_day=TUESDAY_IN_TWO_WEEKS, return_day=TUESDAY_IN_TWO_WEEKS + datetime.timedelta(days=1),
    )

    assert refused(
        reservation_extend, reservation=loan, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS
    ) == "not_enough_units"


def test_it_extends_when_the_units_left_over_are_just_enough(loan, clerk, location, school_b, teacher_b, item_type):
    factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={item_type: 1},
        pickup_day=TUESDAY_IN_TWO_WEEKS, return_day=TUESDAY_IN_TWO_WEEKS + datetime.timedelta(days=1),
    )

    reservation_extend(reservation=loan, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS)

    loan.refresh_from_db()
    assert loan.return_day == TUESDAY_IN_TWO_WEEKS


def test_the_turnaround_after_the_new_return_day_must_be_free_too(
    location, school_a, school_b, teacher_a, teacher_b, clerk
):
    tablet = factories.make_item_type(location=location, name="Tablet", units=1, turnaround_days=6)
    booking = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={tablet: 1},
        pickup_day=TUESDAY, return_day=WEDNESDAY,
    )
    factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={tablet: 1},
        pickup_day=TUESDAY_IN_TWO_WEEKS, return_day=TUESDAY_IN_TWO_WEEKS + datetime.timedelta(days=1),
    )

    # Back on 9 March, the tablet is ready again on the 15th: just in time.
    reservation_extend(reservation=booking, actor=clerk, return_day=NEXT_TUESDAY)
    # Back on 10 March, it would be ready only on the 16th, the day teacher B picks it up.
    assert refused(
        reservation_extend, reservation=booking, actor=clerk, return_day=NEXT_WEDNESDAY
    ) == "not_enough_units"


def test_it_refuses_to_extend_an_overdue_loan_to_a_day_already_past(loan, clerk, time_machine):
    travel_to(time_machine, datetime.date(2027, 3, 23))  # the loan was due on 10 March

    assert refused(
        reservation_extend, reservation=loan, actor=clerk, return_day=TUESDAY_IN_TWO_WEEKS
    ) == "not_extendable"


def test_an_overdue_loan_can_be_extended_from_today_on(loan, clerk, time_machine):
    today = datetime.date(2027, 3, 23)
    travel_to(time_machine, today)

    reservation_extend(reservation=loan, actor=clerk, return_day=today)

    loan.refresh_from_db()
    assert loan.return_day == today
    assert not loan.is_overdue(today)
