"""Delivery to schools (issue 13): what a delivery booking holds and writes, every refusal code
with nothing written, and the tour's steps from packing to collection."""

import datetime

import pytest

from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import DELIVERY_SLOT, Fulfilment, Handover, Reservation, ReservationEvent, ReservationStatus
from lending.selectors import delivery_days, slots_full, tour_of, tour_stops_on
from lending.services import (
    collection_confirm,
    delivery_confirm,
    delivery_pack,
    handover_assign_unit,
    handover_complete,
    reservation_cancel,
    reservation_change,
    reservation_create,
    reservation_extend,
    reservation_mark_no_show,
    takeback_unit,
)
from tests import factories
from tests.lending.conftest import NEXT_WEDNESDAY, counter_written, travel_to, written
from tests.lending.conftest import NEXT_TUESDAY as TUESDAY_9

pytestmark = pytest.mark.usefixtures("monday")

ONE_DAY = datetime.timedelta(days=1)
WEDNESDAY_10 = NEXT_WEDNESDAY
TUESDAY_16 = datetime.date(2027, 3, 16)
WEDNESDAY_17 = datetime.date(2027, 3, 17)
NINE = datetime.time(9, 0)


@pytest.fixture
def deliver(teacher, school, vr):
    def deliver(**overrides):
        arguments = {"borrower": teacher, "school": school, "pickup_day": TUESDAY_9, "pickup_slot": None,
                     "return_day": TUESDAY_16, "lines": {vr.pk: 1}, "fulfilment": Fulfilment.DELIVERY}
        arguments.update(overrides)
        return reservation_create(**arguments)
    return deliver


@pytest.fixture
def refused(deliver):
    def refused(**overrides):
        before = written()
        with pytest.raises(BookingError) as excinfo:
            deliver(**overrides)
        assert written() == before
        return excinfo.value
    return refused


# Booking a delivery ---------------------------------------------------------------------------


def test_a_delivery_is_booked_with_its_tour_hold_fixed_on_the_booking(deliver, tour, school):
    reservation = deliver(lines={tour.item_types.get().pk: 2})

    reservation.refresh_from_db()
    assert reservation.fulfilment == Fulfilment.DELIVERY and reservation.is_delivery
    assert (reservation.pickup_day, reservation.return_day, reservation.pickup_slot) == (
        TUESDAY_9, TUESDAY_16, DELIVERY_SLOT)
    assert (reservation.hold_days_before, reservation.hold_days_after, reservation.collection_by_tour) == (1, 1, True)
    assert reservation.status == ReservationStatus.CONFIRMED
    assert reservation.hold_first_day() == TUESDAY_9 - ONE_DAY
    # Changing the tour's settings later does not move what old bookings hold.
    tour.tour_packing_days, tour.collection_by_tour = 3, False
    tour.save()
    reservation.refresh_from_db()
    assert (reservation.hold_days_before, reservation.hold_days_after) == (1, 1)


def test_the_engine_holds_a_delivery_from_packing_day_to_the_day_after_collection(deliver, vr):
    vr.turnaround_days = 1
    vr.save()
    deliver(lines={vr.pk: 2})

    free = availability(item_type_ids=[vr.pk], first_day=TUESDAY_9 - 3 * ONE_DAY, last_day=TUESDAY_16 + 4 * ONE_DAY,
                        today=datetime.date(2027, 3, 1))[vr.pk]
    held = {day: state.held for day, state in free.days()}
    # Packed Monday the 8th, delivered Tuesday the 9th, collected Tuesday the 16th, back on the
    # shelf Wednesday the 17th, then one day of turnaround.
    assert held[TUESDAY_9 - 2 * ONE_DAY] == 0
    assert held[TUESDAY_9 - ONE_DAY] == 2
    assert all(held[TUESDAY_9 + n * ONE_DAY] == 2 for n in range(0, 10))
    assert held[TUESDAY_16 + 2 * ONE_DAY] == 2
    assert held[TUESDAY_16 + 3 * ONE_DAY] == 0


def test_a_delivery_collected_by_the_school_holds_no_day_after(tour, deliver, vr):
    tour.collection_by_tour = False
    tour.save()
    reservation = deliver(return_day=WEDNESDAY_17)  # a counter day, brought back by the school

    assert (reservation.hold_days_after, reservation.collection_by_tour) == (0, False)
    free = availability(item_type_ids=[vr.pk], first_day=WEDNESDAY_17, last_day=WEDNESDAY_17 + ONE_DAY,
                        today=datetime.date(2027, 3, 1))[vr.pk]
    assert (free.on(WEDNESDAY_17).held, free.on(WEDNESDAY_17 + ONE_DAY).held) == (1, 0)


def test_the_packing_day_and_the_day_after_collection_must_be_free_too(tour, deliver, vr, teacher, school):
    # The counter is open every weekday here; the tour runs on Tuesdays.
    tour.counter_weekdays, tour.delivery_weekdays = [1, 2, 3, 4, 5], [2]
    tour.save()
    monday_8 = TUESDAY_9 - ONE_DAY
    pickups = reservation_create(borrower=teacher, school=school, pickup_day=monday_8, pickup_slot=NINE,
                                 return_day=monday_8, lines={vr.pk: 4})
    assert refused_code(deliver) == "not_enough_units"
    reservation_cancel(reservation=pickups, actor=teacher)

    reservation_create(borrower=teacher, school=school, pickup_day=TUESDAY_16 + ONE_DAY, pickup_slot=NINE,
                       return_day=TUESDAY_16 + ONE_DAY, lines={vr.pk: 4})
    assert refused_code(deliver) == "not_enough_units"
    # Collected a week earlier, it is back on the shelf before that pickup.
    assert deliver(return_day=TUESDAY_9).return_day == TUESDAY_9


def refused_code(deliver, **overrides):
    before = written()
    with pytest.raises(BookingError) as excinfo:
        deliver(**overrides)
    assert written() == before
    return excinfo.value.code


def test_an_item_for_pickup_only_is_not_deliverable_alone_or_mixed(refused, tour, vr):
    pickup_only = factories.make_item_type(location=tour, units=2, deliverable=False)

    assert refused(lines={pickup_only.pk: 1}).code == "not_deliverable"
    error = refused(lines={vr.pk: 1, pickup_only.pk: 1})
    assert error.code == "not_deliverable" and error.params["item_types"] == [pickup_only.pk]


def test_a_counter_without_a_tour_does_not_deliver(refused, tour):
    tour.deliveries_per_day = 0
    tour.save()

    assert refused().code == "not_deliverable"


def test_a_school_without_an_address_gets_no_delivery(refused, school):
    school.street = ""
    school.save()

    assert refused().code == "no_delivery_address"


def test_the_days_must_be_tour_days(refused, tour):
    assert refused(pickup_day=datetime.date(2027, 3, 11)).code == "not_a_delivery_day"  # a Thursday
    assert refused(return_day=datetime.date(2027, 3, 18)).code == "not_a_delivery_day"
    tour.delivery_weekdays = [4]
    tour.save()
    assert refused().code == "not_a_delivery_day"  # Tuesday is a counter day, not a tour day now


def test_a_closure_on_the_delivery_day_refuses_with_its_reason(refused, tour):
    factories.make_closure(location=tour, first_day=TUESDAY_9, reason="Betriebsausflug")

    error = refused()
    assert error.code == "closed" and error.params["reason"] == "Betriebsausflug"


def test_a_delivery_needs_the_tours_notice_which_is_longer_than_the_items(refused, vr):
    assert vr.min_lead_days == 0
    assert refused(pickup_day=datetime.date(2027, 3, 3), return_day=TUESDAY_9).code == "delivery_too_soon"
    assert refused(pickup_day=datetime.date(2027, 2, 23), return_day=TUESDAY_9).code == "delivery_too_soon"
    vr.min_lead_days = 10
    vr.save()
    assert refused().code == "delivery_too_soon"  # the item's own longer notice applies


def test_the_tour_takes_as_many_stops_a_day_as_set_deliveries_and_collections_alike(deliver, refused, tour):
    deliver(pickup_day=TUESDAY_9, return_day=TUESDAY_16)
    assert tour_stops_on(location=tour, day=TUESDAY_9) == 1
    deliver(pickup_day=TUESDAY_9, return_day=WEDNESDAY_10)
    assert tour_stops_on(location=tour, day=TUESDAY_9) == 2

    assert refused(pickup_day=TUESDAY_9, return_day=WEDNESDAY_17).code == "delivery_day_full"
    deliver(pickup_day=WEDNESDAY_10, return_day=TUESDAY_16)
    assert tour_stops_on(location=tour, day=TUESDAY_16) == 2  # two collections
    # The same day for delivery and collection is one stop; two of them fill Tuesday the 23rd.
    tuesday_23 = datetime.date(2027, 3, 23)
    deliver(pickup_day=tuesday_23, return_day=tuesday_23)
    deliver(pickup_day=tuesday_23, return_day=tuesday_23)
    assert tour_stops_on(location=tour, day=tuesday_23) == 2
    # A delivery on a day with room whose collection falls on a full day.
    assert refused(pickup_day=WEDNESDAY_17, return_day=tuesday_23).code == "delivery_day_full"
    assert tour_stops_on(location=tour, day=WEDNESDAY_17) == 0


def test_a_cancelled_delivery_frees_its_stop(deliver, refused, tour, teacher):
    first = deliver()
    deliver(return_day=WEDNESDAY_10)
    assert refused(return_day=WEDNESDAY_17).code == "delivery_day_full"

    reservation_cancel(reservation=first, actor=teacher)

    assert deliver(return_day=WEDNESDAY_17).pickup_day == TUESDAY_9


def test_staff_may_override_the_notice_and_the_capacity_and_it_is_logged(deliver, tour, driver):
    deliver()
    deliver(return_day=WEDNESDAY_10)

    reservation = deliver(pickup_day=TUESDAY_9, return_day=WEDNESDAY_17, actor=driver,
                          overrides=("delivery_day_full",))
    assert reservation.events.filter(action=ReservationEvent.Action.OVERRIDE).get().data == {
        "rule": "delivery_day_full"}
    soon = deliver(pickup_day=datetime.date(2027, 3, 3), return_day=WEDNESDAY_17, actor=driver,
                   overrides=("delivery_too_soon",))
    assert soon.events.filter(action=ReservationEvent.Action.OVERRIDE).get().data == {"rule": "delivery_too_soon"}


def test_a_fulfilment_we_do_not_know_is_refused(refused):
    assert refused(fulfilment="drone").code == "fulfilment_invalid"


def test_a_delivery_does_not_take_a_pickup_slot(deliver, tour, vr, teacher, school):
    tour.slot_capacity = 1
    tour.save()
    deliver()

    assert slots_full(location=tour, day=TUESDAY_9) == set()
    pickup = reservation_create(borrower=teacher, school=school, pickup_day=TUESDAY_9, pickup_slot=NINE,
                                return_day=WEDNESDAY_10, lines={vr.pk: 1})
    assert pickup.fulfilment == Fulfilment.PICKUP and slots_full(location=tour, day=TUESDAY_9) == {NINE}


def test_delivery_days_offer_tour_days_with_the_notice(tour, vr):
    tour.delivery_weekdays = [2]
    tour.save()
    factories.make_closure(location=tour, first_day=TUESDAY_16)

    deliveries, collections = delivery_days(location=tour, item_types=[vr], today=datetime.date(2027, 3, 1))

    assert deliveries[0] == TUESDAY_9 and TUESDAY_16 not in deliveries
    assert all(day.isoweekday() == 2 for day in deliveries + collections)
    tour.deliveries_per_day = 0
    assert delivery_days(location=tour, item_types=[vr], today=datetime.date(2027, 3, 1)) == ([], [])


# Change, cancel, extend, no-show ----------------------------------------------------------------


def test_a_delivery_changes_to_other_tour_days_and_keeps_no_slot(deliver, teacher):
    reservation = deliver()

    with pytest.raises(BookingError) as excinfo:
        reservation_change(reservation=reservation, actor=teacher, pickup_day=datetime.date(2027, 3, 11))
    assert excinfo.value.code == "not_a_delivery_day"
    changed = reservation_change(reservation=reservation, actor=teacher, pickup_day=WEDNESDAY_10, pickup_slot=NINE)
    assert (changed.pickup_day, changed.pickup_slot, changed.fulfilment) == (WEDNESDAY_10, DELIVERY_SLOT, "delivery")


def test_extending_a_delivery_moves_its_collection_to_a_tour_day_with_room(deliver, teacher, tour):
    reservation = deliver()
    deliver(pickup_day=TUESDAY_9 + 14 * ONE_DAY, return_day=TUESDAY_9 + 15 * ONE_DAY)
    deliver(pickup_day=TUESDAY_9 + 14 * ONE_DAY, return_day=TUESDAY_9 + 15 * ONE_DAY)

    for day, code in ((datetime.date(2027, 3, 18), "not_a_delivery_day"),
                      (TUESDAY_9 + 14 * ONE_DAY, "delivery_day_full")):
        before = written()
        with pytest.raises(BookingError) as excinfo:
            reservation_extend(reservation=reservation, actor=teacher, return_day=day)
        assert excinfo.value.code == code and written() == before
    assert reservation_extend(reservation=reservation, actor=teacher, return_day=WEDNESDAY_17).return_day == WEDNESDAY_17
    assert tour_stops_on(location=tour, day=WEDNESDAY_17) == 1 and tour_stops_on(location=tour, day=TUESDAY_16) == 0


def test_a_delivery_not_packed_is_cancelled_or_marked_not_delivered(deliver, teacher, driver, time_machine):
    cancelled = reservation_cancel(reservation=deliver(), actor=teacher)
    assert cancelled.status == ReservationStatus.CANCELLED
    missed = deliver()
    travel_to(time_machine, TUESDAY_9, hour=18)
    assert reservation_mark_no_show(reservation=missed, actor=driver).status == ReservationStatus.NO_SHOW


# The tour: pack, deliver, collect, take back ---------------------------------------------------


def test_the_tour_packs_delivers_collects_and_the_counter_takes_back(deliver, vr, driver, time_machine):
    reservation = deliver(lines={vr.pk: 2})
    first, second, *_others = vr.units.order_by("pk")

    travel_to(time_machine, TUESDAY_9 - 2 * ONE_DAY)  # Sunday: before the packing day
    with pytest.raises(BookingError) as excinfo:
        handover_assign_unit(reservation=reservation, unit=first, actor=driver)
    assert excinfo.value.code == "not_pickup_day_yet"

    travel_to(time_machine, TUESDAY_9 - ONE_DAY)  # Monday: the tour packs
    for unit in (first, second):
        handover_assign_unit(reservation=reservation, unit=unit, actor=driver)
    packed = handover_complete(reservation=reservation, actor=driver)
    assert packed.status == ReservationStatus.CONFIRMED and packed.packed_at is not None
    assert packed.events.filter(action=ReservationEvent.Action.PACKED).get().data == {
        "units": sorted([first.asset_tag, second.asset_tag]), "complete": True}
    with pytest.raises(BookingError) as excinfo:
        reservation_cancel(reservation=reservation, actor=factories.User.objects.get(username="dora"))
    assert excinfo.value.code == "not_cancellable"  # packed: the units are off the shelf

    travel_to(time_machine, TUESDAY_9, hour=11)
    delivered = delivery_confirm(reservation=reservation, actor=driver, recipient="  Herr   Hausmeister ")
    assert delivered.status == ReservationStatus.HANDED_OUT
    assert delivered.delivered_to == "Herr Hausmeister" and delivered.delivered_at is not None
    assert set(Handover.objects.filter(reservation=reservation).values_list("handed_out_at", flat=True)) == {
        delivered.delivered_at}
    assert delivered.events.filter(action=ReservationEvent.Action.DELIVERED).get().data["recipient"] == "Herr Hausmeister"

    travel_to(time_machine, TUESDAY_16, hour=11)
    collected = collection_confirm(reservation=reservation, actor=driver, unit_ids=[str(first.pk)])
    assert collected.collected_at is not None and collected.status == ReservationStatus.HANDED_OUT
    assert collected.events.filter(action=ReservationEvent.Action.COLLECTED).get().data == {
        "units": [first.asset_tag], "missing": [second.asset_tag]}

    takeback_unit(unit=first, actor=driver, condition=Handover.Condition.COMPLETE)
    takeback_unit(unit=second, actor=driver, condition=Handover.Condition.COMPLETE)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RETURNED
    assert not Handover.objects.filter(reservation=reservation, returned_late=True).exists()


@pytest.fixture
def packed(deliver, vr, driver, time_machine):
    reservation = deliver(lines={vr.pk: 2})
    travel_to(time_machine, TUESDAY_9 - ONE_DAY)
    for unit in vr.units.order_by("pk")[:2]:
        handover_assign_unit(reservation=reservation, unit=unit, actor=driver)
    return delivery_pack(reservation=reservation, actor=driver)


def refused_step(call, **arguments):
    before = counter_written(), list(Reservation.objects.values_list(
        "packed_at", "delivered_at", "delivered_to", "collected_at"))
    with pytest.raises(BookingError) as excinfo:
        call(**arguments)
    assert (counter_written(), list(Reservation.objects.values_list(
        "packed_at", "delivered_at", "delivered_to", "collected_at"))) == before
    return excinfo.value.code


def test_the_drivers_confirmations_are_refused_out_of_order_with_nothing_written(packed, deliver, driver, vr, tour,
                                                                                  teacher, school):
    not_packed = deliver(return_day=WEDNESDAY_10, actor=driver, overrides=("delivery_too_soon",))
    assert refused_step(delivery_confirm, reservation=not_packed, actor=driver, recipient="Sekretariat") == \
        "delivery_not_packed"
    assert refused_step(delivery_pack, reservation=not_packed, actor=driver) == "nothing_handed_out"
    for recipient in ("", "   ", "x" * 121):
        assert refused_step(delivery_confirm, reservation=packed, actor=driver, recipient=recipient) == \
            "recipient_required"
    assert refused_step(collection_confirm, reservation=packed, actor=driver, unit_ids=[1]) == "collection_not_allowed"

    delivery_confirm(reservation=packed, actor=driver, recipient="Sekretariat")
    assert refused_step(delivery_confirm, reservation=packed, actor=driver, recipient="Sekretariat") == \
        "not_deliverable_now"
    stranger = vr.units.order_by("pk")[2]
    for unit_ids in ([], [stranger.pk], ["abc"], None):
        assert refused_step(collection_confirm, reservation=packed, actor=driver, unit_ids=unit_ids or []) == \
            "collection_units_invalid"
    pickup = reservation_create(borrower=teacher, school=school, pickup_day=WEDNESDAY_10, pickup_slot=NINE,
                                return_day=WEDNESDAY_17, lines={vr.pk: 1})
    for call, extra in ((delivery_confirm, {"recipient": "x"}), (collection_confirm, {"unit_ids": [1]}),
                        (delivery_pack, {})):
        assert refused_step(call, reservation=pickup, actor=driver, **extra) == "not_a_delivery"


def test_a_packed_unit_taken_back_before_the_delivery_goes_back_to_the_shelf(packed, vr, driver):
    first = vr.units.order_by("pk")[0]

    takeback_unit(unit=first, actor=driver, condition=Handover.Condition.COMPLETE)

    packed.refresh_from_db()
    assert packed.status == ReservationStatus.CONFIRMED
    assert list(Handover.objects.filter(reservation=packed).values_list("unit_id", flat=True)) == [
        vr.units.order_by("pk")[1].pk]
    # With every unit back on the shelf there is nothing to deliver.
    takeback_unit(unit=vr.units.order_by("pk")[1], actor=driver, condition=Handover.Condition.COMPLETE)
    assert refused_step(delivery_confirm, reservation=packed, actor=driver, recipient="Sekretariat") == \
        "delivery_not_packed"


def test_the_tour_lists_deliveries_and_collections_by_postcode(deliver, tour, vr, teacher):
    north = factories.make_school_with_address(name="Grundschule Nord", postcode="44147")
    south = factories.make_school_with_address(name="Realschule Süd", postcode="44139")
    teacher.schools.add(north, south)
    tour.deliveries_per_day = 5
    tour.save()
    deliver(school=north)
    deliver(school=south, pickup_day=WEDNESDAY_10, return_day=WEDNESDAY_17)
    collected_then = deliver(school=south, pickup_day=TUESDAY_9, return_day=TUESDAY_16)
    reservation_cancel(reservation=deliver(), actor=teacher)

    stops = tour_of(location=tour, day=TUESDAY_16)
    assert [(stop.kind, stop.school.postcode) for stop in stops] == [
        ("collection", "44139"), ("collection", "44147")]
    stops = tour_of(location=tour, day=TUESDAY_9)
    assert [(stop.kind, stop.school.name) for stop in stops] == [
        ("delivery", "Realschule Süd"), ("delivery", "Grundschule Nord")]
    assert stops[0].reservation == collected_then


def test_units_scanned_in_without_packed_pressed_still_go_out_with_the_driver(deliver, vr, driver, time_machine):
    reservation = deliver()
    travel_to(time_machine, TUESDAY_9 - ONE_DAY)
    handover_assign_unit(reservation=reservation, unit=vr.units.order_by("pk")[0], actor=driver)
    travel_to(time_machine, TUESDAY_9, hour=11)

    delivered = delivery_confirm(reservation=reservation, actor=driver, recipient="Sekretariat")

    assert delivered.status == ReservationStatus.HANDED_OUT and delivered.packed_at == delivered.delivered_at


def test_collected_by_the_tour_on_its_day_is_neither_overdue_nor_late(packed, vr, driver, time_machine, teacher):
    from notifications.models import Mail
    from notifications.reminders import reminders_queue

    travel_to(time_machine, TUESDAY_9, hour=11)
    delivery_confirm(reservation=packed, actor=driver, recipient="Sekretariat")
    travel_to(time_machine, TUESDAY_16, hour=14)
    collection_confirm(reservation=packed, actor=driver, unit_ids=[unit.pk for unit in vr.units.order_by("pk")[:2]])

    travel_to(time_machine, TUESDAY_16 + ONE_DAY, hour=9)  # unloaded at the counter the next morning
    packed.refresh_from_db()
    assert not packed.is_overdue(TUESDAY_16 + ONE_DAY)
    reminders_queue()
    assert not Mail.objects.filter(kind__in=[Mail.Kind.OVERDUE, Mail.Kind.OVERDUE_COPY]).exists()
    for unit in vr.units.order_by("pk")[:2]:
        takeback_unit(unit=unit, actor=driver, condition=Handover.Condition.COMPLETE)
    assert not Handover.objects.filter(reservation=packed, returned_late=True).exists()


def test_a_delivery_collected_late_is_late(packed, vr, driver, time_machine):
    travel_to(time_machine, TUESDAY_9, hour=11)
    delivery_confirm(reservation=packed, actor=driver, recipient="Sekretariat")
    travel_to(time_machine, TUESDAY_16 + 2 * ONE_DAY, hour=11)  # the school was closed on the day
    collection_confirm(reservation=packed, actor=driver, unit_ids=[vr.units.order_by("pk")[0].pk])

    handover = takeback_unit(unit=vr.units.order_by("pk")[0], actor=driver, condition=Handover.Condition.COMPLETE)

    assert handover.returned_late


def test_the_end_of_day_pass_leaves_an_undelivered_delivery_to_staff(deliver, time_machine):
    from lending.services import reservations_mark_no_shows

    reservation = deliver()
    travel_to(time_machine, TUESDAY_9, hour=18)

    assert reservations_mark_no_shows(day=TUESDAY_9) == []
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED


def test_a_delivery_keeps_its_items_when_one_becomes_pickup_only_or_the_tour_stops(deliver, teacher, tour, vr):
    reservation = deliver(lines={vr.pk: 2})
    vr.deliverable = False
    vr.save()
    tour.deliveries_per_day = 0
    tour.save()

    changed = reservation_change(reservation=reservation, actor=teacher, lines={vr.pk: 1})

    assert changed.lines.get().quantity == 1
    # A new day needs room on a tour that takes none now.
    with pytest.raises(BookingError) as excinfo:
        reservation_change(reservation=reservation, actor=teacher, pickup_day=WEDNESDAY_10)
    assert excinfo.value.code == "delivery_day_full"
    added = factories.make_item_type(location=tour, units=1, deliverable=False)
    with pytest.raises(BookingError) as excinfo:
        reservation_change(reservation=reservation, actor=teacher, lines={vr.pk: 1, added.pk: 1})
    assert excinfo.value.code == "not_deliverable"


def test_a_packed_delivery_is_not_at_risk_from_overdue_loans_its_units_are_in_the_van(
        deliver, tour, school, vr, driver, time_machine):
    from lending.at_risk import bookings_at_risk

    reservation = deliver(lines={vr.pk: 2})
    factories.make_reservation(location=tour, school=school, lines={vr: 3}, pickup_day=datetime.date(2027, 3, 2),
                               return_day=datetime.date(2027, 3, 3), status=ReservationStatus.HANDED_OUT)
    monday_8 = TUESDAY_9 - ONE_DAY
    travel_to(time_machine, monday_8)
    assert reservation.pk in bookings_at_risk(today=monday_8)
    assert bookings_at_risk(today=monday_8)[reservation.pk][0].next_day is None  # no counter day suggested

    for unit in vr.units.order_by("pk")[:2]:
        handover_assign_unit(reservation=reservation, unit=unit, actor=driver)
    delivery_pack(reservation=reservation, actor=driver)

    assert reservation.pk not in bookings_at_risk(today=monday_8)
