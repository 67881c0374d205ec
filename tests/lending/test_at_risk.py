"""Bookings at risk from overdue loans (lending/at_risk.py), against a brute-force count written
here: overdue loans stay out for good, every other booking holds from its pickup day through its
return day plus the turnaround buffer, and a booking is at risk when on some day of its period
the loanable units minus what the others hold are fewer than it booked."""

import datetime

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalog.selectors import counter_days
from lending.at_risk import ALTERNATIVE_DAYS, bookings_at_risk
from lending.models import ReservationStatus
from tests import factories
from tests.lending.test_availability_property import PROPERTY_SETTINGS, offset_day

ONE_DAY = datetime.timedelta(days=1)
TODAY = offset_day(0)


def held_by_others(reservations, item_type_id, turnaround, day, excluded):
    held = 0
    for reservation, lines in reservations:
        if reservation.pk == excluded or item_type_id not in lines:
            continue
        overdue = reservation.status == ReservationStatus.HANDED_OUT and reservation.return_day < TODAY
        if overdue:
            holds = reservation.pickup_day <= day  # still out, for good
        elif reservation.status in (ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT):
            holds = reservation.pickup_day <= day <= reservation.return_day + datetime.timedelta(days=turnaround)
        else:
            holds = False
        held += lines[item_type_id] if holds else 0
    return held


def fewest_there(reservations, item_type_id, turnaround, units, first, last, excluded):
    return min(units - held_by_others(reservations, item_type_id, turnaround,
                                      first + datetime.timedelta(days=offset), excluded)
               for offset in range((last - first).days + 1))


@pytest.mark.django_db
def test_at_risk_agrees_with_a_brute_force_count(location, school_a):
    @hypothesis_settings(PROPERTY_SETTINGS, max_examples=150)
    @given(
        units=st.integers(min_value=0, max_value=5),
        turnaround=st.integers(min_value=0, max_value=3),
        reservation_list=st.lists(st.fixed_dictionaries({
            "status": st.sampled_from([ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT,
                                       ReservationStatus.CANCELLED]),
            "pickup_offset": st.integers(min_value=-12, max_value=12),
            "length": st.integers(min_value=0, max_value=8),
            "quantity": st.integers(min_value=1, max_value=3),
        }), max_size=10),
    )
    def check(units, turnaround, reservation_list):
        with transaction.atomic():
            item_type = factories.make_item_type(location=location, units=units, turnaround_days=turnaround)
            reservations = []
            for spec in reservation_list:
                pickup_day = offset_day(spec["pickup_offset"])
                reservation = factories.make_reservation(
                    location=location, school=school_a, lines={item_type: spec["quantity"]}, status=spec["status"],
                    pickup_day=pickup_day, return_day=pickup_day + datetime.timedelta(days=spec["length"]))
                reservations.append((reservation, {item_type.pk: spec["quantity"]}))

            found = bookings_at_risk(today=TODAY)

            any_overdue = any(r.status == ReservationStatus.HANDED_OUT and r.return_day < TODAY
                              for r, _lines in reservations)
            open_days = {day.day for day in counter_days(location=location, first_day=TODAY,
                                                         last_day=TODAY + datetime.timedelta(days=80)) if day.is_open}
            expected = {}
            for reservation, lines in reservations:
                if not (any_overdue and reservation.status == ReservationStatus.CONFIRMED
                        and reservation.pickup_day >= TODAY):
                    continue
                quantity = lines[item_type.pk]
                there = fewest_there(reservations, item_type.pk, turnaround, units, reservation.pickup_day,
                                     reservation.return_day, reservation.pk)
                if there >= quantity:
                    continue
                length = reservation.return_day - reservation.pickup_day
                next_day = next((
                    day for day in sorted(open_days)
                    if reservation.pickup_day < day <= reservation.pickup_day + datetime.timedelta(days=ALTERNATIVE_DAYS)
                    and day + length in open_days
                    and fewest_there(reservations, item_type.pk, turnaround, units, day, day + length,
                                     reservation.pk) >= quantity), None)
                expected[reservation.pk] = [(item_type.pk, quantity, max(there, 0), next_day)]
            actual = {pk: [(risk.item_type_id, risk.booked, risk.coverable, risk.next_day) for risk in risks]
                      for pk, risks in found.items()}
            assert actual == expected
            transaction.set_rollback(True)

    check()


@pytest.mark.django_db
def test_a_booking_after_an_overdue_loan_is_at_risk_and_offered_fewer_units_or_a_later_day(
        location, school_a, teacher_a, django_assert_max_num_queries):
    item_type = factories.make_item_type(location=location, units=3)
    factories.make_reservation(location=location, school=school_a, lines={item_type: 2},
                               status=ReservationStatus.HANDED_OUT, pickup_day=TODAY - 10 * ONE_DAY,
                               return_day=TODAY - 3 * ONE_DAY)
    pickup = next(day.day for day in counter_days(location=location, first_day=TODAY + 5 * ONE_DAY,
                                                  last_day=TODAY + 12 * ONE_DAY) if day.is_open)
    booking = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                         lines={item_type: 2}, pickup_day=pickup, return_day=pickup + 7 * ONE_DAY)
    blocker = factories.make_reservation(location=location, school=school_a, lines={item_type: 1},
                                         pickup_day=pickup, return_day=pickup + 14 * ONE_DAY)

    with django_assert_max_num_queries(8):
        [risk] = bookings_at_risk(today=TODAY)[booking.pk]

    assert (risk.booked, risk.coverable) == (2, 0)  # 3 units: 2 out overdue, 1 for the other booking
    assert risk.next_day is None  # the overdue pair never comes back in this reckoning
    blocker.status = ReservationStatus.CANCELLED
    blocker.save()
    [risk] = bookings_at_risk(today=TODAY)[booking.pk]
    assert (risk.coverable, risk.next_day) == (1, None)
