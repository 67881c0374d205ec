"""Deliveries racing, one thread and connection each (see test_concurrency): for the last places
on a tour day, and against pickups for the units the tour packs the day before."""

import datetime

import pytest

from lending.models import Fulfilment, Reservation, ReservationStatus
from lending.services import reservation_create
from tests import factories
from tests.lending.test_concurrency import THREADS, held_never_exceeds_loanable, race

NINE = datetime.time(9, 0)
pytestmark = pytest.mark.django_db(transaction=True)


def schools_with_teachers(count):
    result = []
    for number in range(count):
        school = factories.make_school_with_address(postcode=f"{44100 + number}")
        result.append((factories.make_user(schools=[school]), school))
    return result


def test_only_the_free_places_on_a_tour_day_are_booked_by_racing_deliveries():
    tour = factories.make_delivering_location(deliveries_per_day=3)
    item_type = factories.make_item_type(location=tour, units=THREADS * 2, deliverable=True)
    delivery_day = factories.counter_day(weekday=2, at_least_days_ahead=10)
    collection_day = delivery_day + datetime.timedelta(days=8)  # the Wednesday after
    teachers = schools_with_teachers(THREADS + 1)
    first_teacher, first_school = teachers.pop()
    reservation_create(borrower=first_teacher, school=first_school, pickup_day=delivery_day, pickup_slot=None,
                       return_day=collection_day, lines={item_type.pk: 1}, fulfilment=Fulfilment.DELIVERY)

    outcomes = race([
        (lambda teacher=teacher, school=school: reservation_create(
            borrower=teacher, school=school, pickup_day=delivery_day, pickup_slot=None,
            return_day=collection_day, lines={item_type.pk: 1}, fulfilment=Fulfilment.DELIVERY))
        for teacher, school in teachers
    ])

    assert not [outcome for outcome in outcomes if outcome[0] == "error"], outcomes
    assert sum(outcome[0] == "booked" for outcome in outcomes) == 2
    assert {outcome[1] for outcome in outcomes if outcome[0] == "refused"} == {"delivery_day_full"}
    for day in (delivery_day, collection_day):
        assert Reservation.objects.filter(
            location=tour, fulfilment=Fulfilment.DELIVERY, status=ReservationStatus.CONFIRMED,
        ).filter(pickup_day=day).count() + Reservation.objects.filter(
            location=tour, return_day=day, collection_by_tour=True).count() == 3


def test_deliveries_and_pickups_racing_for_the_packing_day_never_promise_a_unit_twice():
    tour = factories.make_delivering_location(deliveries_per_day=THREADS, counter_weekdays=[1, 2, 3, 4, 5],
                                              delivery_weekdays=[2], slot_capacity=THREADS)
    item_type = factories.make_item_type(location=tour, units=3, deliverable=True)
    delivery_day = factories.counter_day(weekday=2, at_least_days_ahead=10)
    packing_day = delivery_day - datetime.timedelta(days=1)  # a Monday, open for pickups here
    teachers = schools_with_teachers(THREADS)

    def delivery(teacher, school):
        return reservation_create(borrower=teacher, school=school, pickup_day=delivery_day, pickup_slot=None,
                                  return_day=delivery_day, lines={item_type.pk: 1}, fulfilment=Fulfilment.DELIVERY)

    def pickup(teacher, school):
        return reservation_create(borrower=teacher, school=school, pickup_day=packing_day, pickup_slot=NINE,
                                  return_day=packing_day, lines={item_type.pk: 1})

    outcomes = race([
        (lambda teacher=teacher, school=school, book=(delivery if index % 2 else pickup): book(teacher, school))
        for index, (teacher, school) in enumerate(teachers)
    ])

    assert not [outcome for outcome in outcomes if outcome[0] == "error"], outcomes
    assert sum(outcome[0] == "booked" for outcome in outcomes) == 3
    assert {outcome[1] for outcome in outcomes if outcome[0] == "refused"} == {"not_enough_units"}
    assert held_never_exceeds_loanable(item_type, packing_day - datetime.timedelta(days=1),
                                       delivery_day + datetime.timedelta(days=2))
