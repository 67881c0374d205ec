"""The counter's day: pickups by slot, returns due, overdue loans, each booking's counter state; and
who may open which counter."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Role
from lending.models import Handover, ReservationStatus
from lending.selectors import counter_agenda, counter_location_get, staff_locations
from lending.services import handover_assign_unit, handover_complete, takeback_unit
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, TUESDAY, WEDNESDAY, travel_to

NINE = datetime.time(9, 0)
HALF_PAST_NINE = datetime.time(9, 30)
TEN = datetime.time(10, 0)
TUESDAY_BEFORE = datetime.date(2027, 2, 23)
WEDNESDAY_BEFORE = datetime.date(2027, 2, 24)


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    """Tuesday 2 March 2027, 10:00: today is a counter day."""
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def robots(location):
    """Plenty of units, so every booking below can go out at once."""
    return factories.make_item_type(location=location, name="Ozobot", units=60)


@pytest.fixture
def booking(location, school_a, teacher_a, robots):
    def booking(*, pickup_day=TUESDAY, pickup_slot=NINE, return_day=NEXT_TUESDAY, quantity=1, status=None,
                borrower=teacher_a):
        return factories.make_reservation(
            location=location, school=school_a, borrower=borrower, lines={robots: quantity},
            pickup_day=pickup_day, pickup_slot=pickup_slot, return_day=return_day, status=status,
        )

    return booking


@pytest.fixture
def hand_out(clerk, robots, time_machine):
    """Hand `count` free robots out on the booking's pickup day (confirm unless told not to),
    take `back` of them back, then return to today."""

    def hand_out(reservation, *, count, confirm=True, back=0):
        travel_to(time_machine, reservation.pickup_day)
        out = Handover.objects.filter(returned_at__isnull=True).values("unit_id")
        units = list(robots.units.exclude(pk__in=out).order_by("pk")[:count])
        for unit in units:
            handover_assign_unit(reservation=reservation, unit=unit, actor=clerk)
        if confirm:
            handover_complete(reservation=reservation, actor=clerk)
        for unit in units[:back]:
            takeback_unit(unit=unit, actor=clerk, condition="complete")
        travel_to(time_machine, TUESDAY)
        reservation.refresh_from_db()
        return reservation

    return hand_out


def pks(reservations):
    return [reservation.pk for reservation in reservations]


# Pickups --------------------------------------------------------------------------------------------


def test_pickups_are_grouped_by_slot_in_slot_order(booking, location):
    at_ten = booking(pickup_slot=TEN)
    first_at_nine = booking(pickup_slot=NINE)
    at_half_past_nine = booking(pickup_slot=HALF_PAST_NINE)
    second_at_nine = booking(pickup_slot=NINE)

    agenda = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)

    assert [(slot, pks(reservations)) for slot, reservations in agenda.pickups_by_slot] == [
        (NINE, [first_at_nine.pk, second_at_nine.pk]),
        (HALF_PAST_NINE, [at_half_past_nine.pk]),
        (TEN, [at_ten.pk]),
    ]


def test_cancelled_pickups_are_left_out_and_no_shows_stay(booking, location):
    kept = booking()
    booking(status=ReservationStatus.CANCELLED)
    no_show = booking(pickup_slot=TEN, status=ReservationStatus.NO_SHOW)

    agenda = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)

    assert [(slot, pks(reservations)) for slot, reservations in agenda.pickups_by_slot] == [
        (NINE, [kept.pk]), (TEN, [no_show.pk])
    ]
    assert agenda.pickups_by_slot[1][1][0].counter_state is None


def test_only_pickups_of_this_day_and_this_counter_are_on_it(booking, location, school_b, teacher_b):
    today = booking()
    booking(pickup_day=WEDNESDAY)
    elsewhere = factories.make_location(slug="mz-nachbar")
    factories.make_reservation(
        location=elsewhere, school=school_b, borrower=teacher_b,
        lines={factories.make_item_type(location=elsewhere): 1},
        pickup_day=TUESDAY, return_day=NEXT_TUESDAY,
    )

    agenda = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)

    assert [(slot, pks(reservations)) for slot, reservations in agenda.pickups_by_slot] == [(NINE, [today.pk])]


# Returns and overdue loans ----------------------------------------------------------------------------


def test_returns_due_that_day_are_the_loans_out_and_those_already_back(booking, hand_out, location, teacher_b):
    still_out = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY, borrower=teacher_b), count=1)
    already_back = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY), count=1, back=1)
    booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY, status=ReservationStatus.CANCELLED)
    booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY, status=ReservationStatus.NO_SHOW)
    hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=WEDNESDAY), count=1)  # due tomorrow

    agenda = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)

    assert already_back.status == ReservationStatus.RETURNED
    # Listed: what is still to come back; what is back is only counted.
    assert pks(agenda.returns) == [still_out.pk]
    assert agenda.returned_count == 1


def test_overdue_loans_are_only_on_todays_agenda(booking, hand_out, location):
    overdue = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=WEDNESDAY_BEFORE), count=1)
    hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=WEDNESDAY_BEFORE), count=1, back=1)  # back already
    due_today = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY), count=1)

    today = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)
    tomorrow = counter_agenda(location=location, day=WEDNESDAY, today=TUESDAY)

    assert pks(today.overdue) == [overdue.pk]
    assert pks(today.returns) == [due_today.pk]
    assert (tomorrow.pickups_by_slot, tomorrow.returns, tomorrow.overdue) == ([], [], [])


def test_each_booking_carries_its_counter_state(booking, hand_out, location):
    waiting = booking(quantity=2)
    at_the_desk = hand_out(booking(quantity=2), count=1, confirm=False)
    short = hand_out(booking(pickup_slot=TEN, quantity=2), count=1)
    complete = hand_out(booking(pickup_slot=TEN, quantity=2), count=2)
    partly_back = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY, quantity=2), count=2, back=1)
    back = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY, quantity=2), count=2, back=2)
    overdue = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=WEDNESDAY_BEFORE, quantity=2), count=2)

    agenda = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)

    states = {
        reservation.pk: reservation.counter_state
        for reservations in [slot_reservations for _, slot_reservations in agenda.pickups_by_slot]
        + [agenda.returns, agenda.overdue]
        for reservation in reservations
    }
    assert states == {
        waiting.pk: "waiting",
        at_the_desk.pk: "partly_handed_out",
        short.pk: "partly_handed_out",
        complete.pk: "handed_out",
        partly_back.pk: "partly_returned",
        overdue.pk: "handed_out",
    }
    assert back.pk not in states and agenda.returned_count == 1


def test_a_day_without_bookings_is_empty(booking, location):
    booking(pickup_day=WEDNESDAY, return_day=NEXT_TUESDAY)

    agenda = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)

    assert (agenda.day, agenda.pickups_by_slot, agenda.returns, agenda.overdue) == (TUESDAY, [], [], [])


# Query budget -----------------------------------------------------------------------------------------


def read_agenda(location):
    """The agenda and everything the counter page shows of each booking."""
    agenda = counter_agenda(location=location, day=TUESDAY, today=TUESDAY)
    shown = []
    for reservation in [r for _, slot in agenda.pickups_by_slot for r in slot] + agenda.returns + agenda.overdue:
        shown.append((
            reservation.code, reservation.counter_state, reservation.borrower.get_full_name(),
            reservation.school.name,
            [(line.quantity, line.item_type.name) for line in reservation.agenda_lines],
        ))
    return shown


def make_bookings(count, *, booking, hand_out, location):
    """`count` bookings with two item types each; any two already fill all three lists: a loan
    picked up and due today (a pickup and a return), and an overdue loan."""
    cameras = factories.make_item_type(location=location, units=0)
    slots = location.slot_times()
    for number in range(count):
        slot = slots[number % len(slots)]
        kind = number % 4
        if kind == 0:
            reservation = hand_out(booking(pickup_slot=slot, return_day=TUESDAY, quantity=2), count=1)
        elif kind == 1:
            reservation = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=WEDNESDAY_BEFORE), count=1)
        elif kind == 2:
            reservation = booking(pickup_slot=slot)
        else:
            reservation = hand_out(booking(pickup_day=TUESDAY_BEFORE, return_day=TUESDAY, quantity=2), count=2, back=1)
        reservation.lines.create(item_type=cameras, quantity=1)


def test_it_needs_the_same_queries_for_2_and_for_20_bookings(
    booking, hand_out, location, django_assert_max_num_queries
):
    make_bookings(2, booking=booking, hand_out=hand_out, location=location)
    with django_assert_max_num_queries(9) as few:
        assert len(read_agenda(location)) == 3  # the same-day loan is a pickup and a return

    make_bookings(18, booking=booking, hand_out=hand_out, location=location)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(read_agenda(location)) == 26  # 20 bookings, six of them same-day loans


# Who may open which counter ----------------------------------------------------------------------------


def test_an_administrator_works_at_every_counter(admin_user, location, neighbour_counter):
    assert set(staff_locations(admin_user)) == {location, neighbour_counter}


def test_counter_staff_work_at_their_own_counters(clerk, neighbour, location, neighbour_counter):
    assert list(staff_locations(clerk)) == [location]
    assert list(staff_locations(neighbour)) == [neighbour_counter]


@pytest.mark.parametrize("user", ["teacher_a", "stranger", "anonymous", "staff_of_no_counter"])
def test_everyone_else_works_at_no_counter(request, location, user):
    if user == "anonymous":
        user = AnonymousUser()
    elif user == "staff_of_no_counter":
        user = factories.make_user(role=Role.STAFF)
    else:
        user = request.getfixturevalue(user)

    assert list(staff_locations(user)) == []


def test_a_teacher_linked_to_a_counter_still_works_at_none(teacher_a, location):
    # Only the role opens a counter: a stale link from a former job at the counter does not.
    teacher_a.locations.add(location)

    assert list(staff_locations(teacher_a)) == []


def test_staff_open_their_own_counter_and_administrators_any(clerk, admin_user, location, neighbour_counter):
    assert counter_location_get(user=clerk, slug="mz-test") == location
    assert counter_location_get(user=admin_user, slug="mz-nachbar") == neighbour_counter


@pytest.mark.parametrize("user", ["clerk", "admin_user", "teacher_a"])
def test_an_unknown_counter_is_not_found(request, location, user):
    with pytest.raises(Http404):
        counter_location_get(user=request.getfixturevalue(user), slug="mz-gibt-es-nicht")


@pytest.mark.parametrize("user", ["teacher_a", "stranger", "neighbour", "anonymous"])
def test_a_counter_is_forbidden_to_teachers_and_to_staff_of_another_counter(request, location, user):
    user = AnonymousUser() if user == "anonymous" else request.getfixturevalue(user)

    with pytest.raises(PermissionDenied):
        counter_location_get(user=user, slug="mz-test")
