"""reservation_create: what a booking writes, and one test per refusal that it writes nothing."""

import datetime
import re

import pytest

from accounts.models import Role
from catalog.models import UnitStatus
from lending.exceptions import BookingError
from lending.models import Reservation, ReservationEvent, ReservationStatus
from lending.secrets import ALPHABET, CODE_LENGTH
from lending.services import reservation_create
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, THURSDAY, TUESDAY, WEDNESDAY, written

NINE = datetime.time(9, 0)

pytestmark = pytest.mark.usefixtures("monday")


@pytest.fixture
def create(teacher_a, school_a, item_type):
    """reservation_create with a valid booking as the default: next Tuesday to next Wednesday."""

    def create(**overrides):
        arguments = {
            "borrower": teacher_a, "school": school_a, "pickup_day": NEXT_TUESDAY, "pickup_slot": NINE,
            "return_day": NEXT_WEDNESDAY, "lines": {item_type.pk: 1},
        }
        arguments.update(overrides)
        return reservation_create(**arguments)

    return create


@pytest.fixture
def refused(create):
    """Call create, expect a refusal, check that not a single row changed; return the error."""

    def refused(**overrides):
        before = written()
        with pytest.raises(BookingError) as excinfo:
            create(**overrides)
        assert written() == before
        return excinfo.value

    return refused


# What a booking writes -------------------------------------------------------------------------


def test_it_books_and_writes_the_reservation_its_line_and_a_created_event(create, teacher_a, school_a, item_type, location):
    reservation = create(lines={item_type.pk: 2}, note="Projektwoche 7b")

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED
    assert (reservation.borrower, reservation.school, reservation.location) == (teacher_a, school_a, location)
    assert (reservation.pickup_day, reservation.pickup_slot, reservation.return_day) == (NEXT_TUESDAY, NINE, NEXT_WEDNESDAY)
    assert reservation.note == "Projektwoche 7b"
    assert reservation.sequence == 0
    assert re.fullmatch(f"[{ALPHABET}]{{{CODE_LENGTH}}}", reservation.code)
    assert [(line.item_type_id, line.quantity) for line in reservation.lines.all()] == [(item_type.pk, 2)]
    [event] = ReservationEvent.objects.filter(reservation=reservation)
    assert event.action == ReservationEvent.Action.CREATED
    assert event.actor == teacher_a
    assert event.data == {
        "pickup_day": "2027-03-09", "pickup_slot": "09:00", "return_day": "2027-03-10",
        "lines": {str(item_type.pk): 2},
    }


def test_each_booking_gets_its_own_random_code(create):
    codes = {create().code for _ in range(3)}

    assert len(codes) == 3
    assert all(not code.isdigit() for code in codes)


def test_it_books_several_item_types_at_once_and_merges_repeated_lines(create, location, item_type):
    robots = factories.make_item_type(location=location, units=5)

    reservation = create(lines=[(robots, 2), (item_type.pk, 1), (robots.pk, 1)])

    assert sorted(reservation.lines.values_list("item_type_id", "quantity")) == sorted(
        [(item_type.pk, 1), (robots.pk, 3)]
    )


def test_counter_staff_booking_for_a_teacher_is_logged_as_the_staff_members_action(create, clerk, teacher_a):
    reservation = create(actor=clerk)

    assert reservation.borrower == teacher_a
    assert ReservationEvent.objects.get(reservation=reservation).actor == clerk


def test_it_books_the_last_free_units(create, item_type, teacher_b):
    factories.book(borrower=teacher_b, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)

    reservation = create(lines={item_type.pk: 2})

    assert reservation.pk is not None


def test_a_pickup_tomorrow_is_fine_when_the_lead_time_is_one_day(create, location):
    item_type = factories.make_item_type(location=location, min_lead_days=1)

    assert create(lines={item_type.pk: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY).pk


def test_the_furthest_advance_and_the_longest_loan_are_inclusive(create, location):
    item_type = factories.make_item_type(location=location, max_advance_days=30, max_loan_days=7)
    pickup_day = datetime.date(2027, 3, 31)  # a Wednesday, 30 days ahead

    assert create(lines={item_type.pk: 1}, pickup_day=pickup_day, return_day=pickup_day + datetime.timedelta(days=7)).pk


def test_units_freed_by_a_cancelled_booking_can_be_booked_again(create, item_type, teacher_b):
    other = factories.book(borrower=teacher_b, lines={item_type.pk: 3}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    Reservation.objects.filter(pk=other.pk).update(status=ReservationStatus.CANCELLED)

    assert create(lines={item_type.pk: 3}).pk


# Refusals: each with its code, each writing nothing ---------------------------------------------


def test_it_refuses_a_pickup_day_that_is_not_a_counter_day(refused):
    error = refused(pickup_day=THURSDAY, return_day=NEXT_TUESDAY)

    assert error.code == "not_a_counter_day"


def test_it_refuses_a_return_day_that_is_not_a_counter_day(refused):
    error = refused(return_day=datetime.date(2027, 3, 12))  # a Friday

    assert error.code == "not_a_counter_day"


def test_it_refuses_a_closed_pickup_day(refused, location):
    factories.make_closure(location=location, first_day=NEXT_TUESDAY, reason="Betriebsausflug")

    error = refused()

    assert error.code == "closed"
    assert error.params["reason"] == "Betriebsausflug"


def test_it_refuses_a_closed_return_day(refused, location):
    factories.make_closure(location=location, first_day=datetime.date(2027, 3, 10), last_day=datetime.date(2027, 3, 20))

    error = refused()

    assert error.code == "closed"


def test_a_closure_at_another_location_does_not_matter(create):
    factories.make_closure(location=factories.make_location(), first_day=NEXT_TUESDAY)

    assert create().pk


def test_it_refuses_a_full_pickup_slot(refused, create, location):
    assert location.slot_capacity == 4
    item_type = factories.make_item_type(location=location, units=10)
    for _ in range(4):
        create(lines={item_type.pk: 1})

    error = refused(lines={item_type.pk: 1})

    assert error.code == "slot_full"


def test_other_slots_and_cancelled_bookings_leave_a_slot_free(create, location):
    item_type = factories.make_item_type(location=location, units=10)
    reservations = [create(lines={item_type.pk: 1}) for _ in range(4)]
    assert create(lines={item_type.pk: 1}, pickup_slot=datetime.time(9, 30)).pk
    Reservation.objects.filter(pk=reservations[0].pk).update(status=ReservationStatus.CANCELLED)

    assert create(lines={item_type.pk: 1}).pickup_slot == NINE


@pytest.mark.parametrize("slot", [datetime.time(9, 15), datetime.time(8, 30), datetime.time(16, 0)])
def test_it_refuses_a_time_that_is_not_a_slot_start(refused, slot):
    error = refused(pickup_slot=slot)

    assert error.code == "slot_invalid"


def test_the_last_slot_starts_half_an_hour_before_closing(create):
    assert create(pickup_slot=datetime.time(15, 30)).pk


def test_it_refuses_a_pickup_sooner_than_the_lead_time(refused, location):
    item_type = factories.make_item_type(location=location, min_lead_days=7)

    error = refused(lines={item_type.pk: 1}, pickup_day=WEDNESDAY, return_day=NEXT_TUESDAY)

    assert error.code == "too_soon"


def test_it_refuses_a_pickup_day_in_the_past(refused):
    last_tuesday = datetime.date(2027, 2, 23)

    error = refused(pickup_day=last_tuesday, return_day=NEXT_TUESDAY)

    assert error.code == "too_soon"


def test_it_refuses_a_pickup_too_far_ahead(refused, location):
    item_type = factories.make_item_type(location=location, max_advance_days=30)
    pickup_day = datetime.date(2027, 4, 6)  # a Tuesday, 36 days ahead

    error = refused(lines={item_type.pk: 1}, pickup_day=pickup_day, return_day=pickup_day)

    assert error.code == "too_far_ahead"


def test_it_refuses_a_loan_longer_than_the_longest_loan(refused, location):
    item_type = factories.make_item_type(location=location, max_loan_days=7)

    error = refused(lines={item_type.pk: 1}, return_day=datetime.date(2027, 3, 17))  # 8 days

    assert error.code == "too_long"


def test_the_strictest_rule_of_several_item_types_applies(refused, location, item_type):
    strict = factories.make_item_type(location=location, max_loan_days=1)

    error = refused(lines={item_type.pk: 1, strict.pk: 1}, return_day=datetime.date(2027, 3, 16))

    assert error.code == "too_long"


def test_it_refuses_a_return_day_before_the_pickup_day(refused):
    error = refused(pickup_day=NEXT_WEDNESDAY, return_day=NEXT_TUESDAY)

    assert error.code == "return_before_pickup"


def test_it_refuses_more_units_than_are_free(refused, item_type, teacher_b):
    factories.book(borrower=teacher_b, lines={item_type.pk: 2}, pickup_day=TUESDAY, return_day=NEXT_TUESDAY)

    error = refused(lines={item_type.pk: 2})

    assert error.code == "not_enough_units"
    assert error.params["item_type"] == item_type.pk


def test_it_refuses_more_units_than_are_loanable(refused, location):
    item_type = factories.make_item_type(location=location, units=1)
    factories.make_unit(item_type=item_type, status=UnitStatus.MAINTENANCE)

    error = refused(lines={item_type.pk: 2})

    assert error.code == "not_enough_units"


def test_the_turnaround_buffer_of_an_earlier_booking_blocks_the_next_day(refused, create, location, teacher_b):
    item_type = factories.make_item_type(location=location, units=1, turnaround_days=1)
    factories.book(borrower=teacher_b, lines={item_type.pk: 1}, pickup_day=TUESDAY, return_day=TUESDAY)

    error = refused(lines={item_type.pk: 1}, pickup_day=WEDNESDAY, return_day=NEXT_TUESDAY)

    assert error.code == "not_enough_units"
    assert create(lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_TUESDAY).pk


def test_the_own_turnaround_buffer_must_not_run_into_a_later_booking(refused, location, teacher_b):
    item_type = factories.make_item_type(location=location, units=1, turnaround_days=1)
    factories.book(borrower=teacher_b, lines={item_type.pk: 1}, pickup_day=WEDNESDAY, return_day=WEDNESDAY)

    error = refused(lines={item_type.pk: 1}, pickup_day=TUESDAY, return_day=TUESDAY)

    assert error.code == "not_enough_units"


def test_an_overdue_loan_blocks_its_units_until_it_is_back(refused, create, school_b):
    # A counter that also opens on Mondays, so that today can be a pickup day.
    location = factories.make_location(counter_weekdays=[1, 2, 3])
    item_type = factories.make_item_type(location=location, units=1)
    factories.make_reservation(
        location=location, school=school_b, lines={item_type: 1}, status=ReservationStatus.HANDED_OUT,
        pickup_day=datetime.date(2027, 2, 16), return_day=datetime.date(2027, 2, 24),
    )
    today = datetime.date(2027, 3, 1)

    error = refused(lines={item_type.pk: 1}, pickup_day=today, return_day=TUESDAY)

    assert error.code == "not_enough_units"
    # Next week nothing says it is still out, so the booking is taken (and its borrower warned).
    assert create(lines={item_type.pk: 1}).pk


@pytest.fixture
def vr_headsets(location):
    qualification = factories.make_qualification(name="VR-Schulung")
    return factories.make_item_type(location=location, required_qualification=qualification)


def test_it_refuses_an_item_that_needs_a_qualification_the_teacher_lacks(refused, vr_headsets):
    error = refused(lines={vr_headsets.pk: 1})

    assert error.code == "qualification_missing"
    assert error.params["qualifications"] == [vr_headsets.required_qualification_id]


@pytest.mark.parametrize(
    "expires_on",
    [datetime.date(2027, 2, 1), datetime.date(2027, 3, 8)],
    ids=["expired-last-month", "expires-the-day-before-pickup"],
)
def test_it_refuses_an_item_when_the_qualification_has_expired(refused, vr_headsets, teacher_a, expires_on):
    factories.grant_qualification(
        user=teacher_a, qualification=vr_headsets.required_qualification,
        granted_on=datetime.date(2025, 1, 1), expires_on=expires_on,
    )

    error = refused(lines={vr_headsets.pk: 1})

    assert error.code == "qualification_missing"


def test_a_qualification_granted_only_after_the_pickup_day_does_not_count(refused, vr_headsets, teacher_a):
    factories.grant_qualification(
        user=teacher_a, qualification=vr_headsets.required_qualification, granted_on=datetime.date(2027, 3, 20)
    )

    assert refused(lines={vr_headsets.pk: 1}).code == "qualification_missing"


def test_another_teachers_qualification_does_not_count(refused, vr_headsets, teacher_b):
    factories.grant_qualification(user=teacher_b, qualification=vr_headsets.required_qualification)

    assert refused(lines={vr_headsets.pk: 1}).code == "qualification_missing"


@pytest.mark.parametrize("expires_on", [None, NEXT_TUESDAY])
def test_a_valid_qualification_lets_the_teacher_book(create, vr_headsets, teacher_a, expires_on):
    factories.grant_qualification(user=teacher_a, qualification=vr_headsets.required_qualification, expires_on=expires_on)

    reservation = create(lines={vr_headsets.pk: 1})

    assert reservation.lines.get().item_type == vr_headsets


def test_it_refuses_a_paused_item(refused, location):
    item_type = factories.make_item_type(location=location, paused=True, paused_reason="Akkus werden getauscht")

    error = refused(lines={item_type.pk: 1})

    assert error.code == "item_paused"


def test_it_refuses_counter_staff_as_borrower(refused, clerk, school_a):
    clerk.schools.add(school_a)

    assert refused(borrower=clerk).code == "not_a_teacher"


def test_it_refuses_an_administrator_as_borrower(refused, admin_user, school_a):
    admin_user.schools.add(school_a)

    assert refused(borrower=admin_user).code == "not_a_teacher"


def test_it_refuses_an_inactive_teacher(refused, teacher_a):
    teacher_a.is_active = False
    teacher_a.save()

    assert refused().code == "not_a_teacher"


def test_it_refuses_a_booking_without_a_borrower(refused):
    assert refused(borrower=None).code == "not_a_teacher"


def test_it_refuses_the_school_of_another_teacher(refused, school_b):
    assert refused(school=school_b).code == "unknown_school"


def test_it_refuses_a_teacher_without_a_school(refused, stranger):
    assert stranger.role == Role.TEACHER
    assert refused(borrower=stranger, school=None).code == "unknown_school"


def test_it_refuses_a_school_that_is_no_longer_active(refused, school_a):
    school_a.active = False
    school_a.save()

    assert refused().code == "unknown_school"


@pytest.mark.parametrize(
    "make_lines",
    [
        pytest.param(lambda item_type: {item_type.pk: 0}, id="zero"),
        pytest.param(lambda item_type: {item_type.pk: -1}, id="negative"),
        pytest.param(lambda item_type: {}, id="empty"),
        pytest.param(lambda item_type: [], id="empty-pairs"),
        pytest.param(lambda item_type: {item_type.pk: True}, id="bool"),
        pytest.param(lambda item_type: {item_type.pk: 1.0}, id="float"),
        pytest.param(lambda item_type: {item_type.pk: "1"}, id="text"),
        pytest.param(lambda item_type: {item_type.pk: 501}, id="absurd"),
        pytest.param(lambda item_type: {item_type.pk + 10_000: 1}, id="unknown-item-type"),
        pytest.param(lambda item_type: {str(item_type.pk): 1}, id="item-type-id-as-text"),
        pytest.param(lambda item_type: {True: 1}, id="item-type-id-as-bool"),
        pytest.param(lambda item_type: [(item_type.pk, 3), (item_type.pk, -2)], id="negative-line-merged"),
        pytest.param(lambda item_type: [(item_type.pk,)], id="malformed-pair"),
        pytest.param(lambda item_type: None, id="none"),
    ],
)
def test_it_refuses_invalid_quantities(refused, item_type, make_lines):
    assert refused(lines=make_lines(item_type)).code == "quantity_invalid"


def test_it_refuses_item_types_of_two_locations_in_one_booking(refused, item_type):
    elsewhere = factories.make_item_type(location=factories.make_location())

    assert refused(lines={item_type.pk: 1, elsewhere.pk: 1}).code == "mixed_locations"


def test_it_books_at_the_location_of_the_item_types(create):
    other_location = factories.make_location()
    elsewhere = factories.make_item_type(location=other_location)

    assert create(lines={elsewhere.pk: 1}).location == other_location
