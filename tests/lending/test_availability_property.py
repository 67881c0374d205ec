"""Property tests: the engine and the counter calendar against brute-force counts written here.

Each example builds its rows inside a savepoint and rolls it back, so one database test can run
many examples without them seeing each other's data.
"""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import UnitStatus
from catalog.selectors import closure_on, counter_days
from lending.availability import availability
from lending.models import ReservationStatus, WaitlistEntry
from tests import factories

BASE_DAY = datetime.date(2027, 3, 1)
ONE_DAY = datetime.timedelta(days=1)

PROPERTY_SETTINGS = settings(
    max_examples=50, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def offset_day(offset):
    return BASE_DAY + datetime.timedelta(days=offset)


item_type_specs = st.lists(
    st.fixed_dictionaries({
        "turnaround_days": st.integers(min_value=0, max_value=4),
        "unit_statuses": st.lists(st.sampled_from(list(UnitStatus)), max_size=6),
    }),
    min_size=1, max_size=3,
)

reservation_specs = st.lists(
    st.fixed_dictionaries({
        "status": st.sampled_from(list(ReservationStatus)),
        "pickup_offset": st.integers(min_value=-30, max_value=30),
        "length": st.integers(min_value=0, max_value=12),
        # {item type index: quantity}; one reservation may book several item types.
        "lines": st.dictionaries(st.integers(min_value=0, max_value=2), st.integers(min_value=1, max_value=4),
                                 min_size=1, max_size=3),
        # A delivery to a school: held from the packing days before through the day after collection.
        "delivery": st.none() | st.tuples(st.integers(min_value=0, max_value=14), st.integers(min_value=0, max_value=1)),
    }),
    max_size=14,
)


offer_specs = st.lists(
    st.fixed_dictionaries({
        "status": st.sampled_from(list(WaitlistEntry.Status)),
        "pickup_offset": st.integers(min_value=-30, max_value=30),
        "length": st.integers(min_value=0, max_value=12),
        "item": st.integers(min_value=0, max_value=2),
        "quantity": st.integers(min_value=1, max_value=4),
        # Hours from "now" until the offer runs out: negative ones ran out already.
        "expires_in": st.integers(min_value=-48, max_value=48),
    }),
    max_size=6,
)
NOW = datetime.datetime(2027, 3, 1, 12, 0, tzinfo=datetime.UTC)


def brute_force_offered(*, offers, item_type_id, turnaround_days, day, excluded_id):
    """Units of one item type held on one day by open waiting-list offers, one by one."""
    return sum(
        offer.quantity for offer in offers
        if offer.item_type_id == item_type_id and offer.pk != excluded_id
        and offer.status == WaitlistEntry.Status.OFFERED and offer.offer_expires_at > NOW
        and offer.pickup_day <= day <= offer.return_day + datetime.timedelta(days=turnaround_days)
    )


def brute_force_held(*, reservations, item_type_id, turnaround_days, day, today, excluded_id):
    """Units of one item type held on one day, counted reservation by reservation."""
    held = 0
    for reservation, lines in reservations:
        if reservation.pk == excluded_id or item_type_id not in lines:
            continue
        if reservation.status == ReservationStatus.CONFIRMED:
            back_on_shelf = reservation.return_day
        elif reservation.status == ReservationStatus.HANDED_OUT:
            # Not back yet: it is out at least until today, whatever its return day said.
            back_on_shelf = max(reservation.return_day, today)
        else:
            continue
        first_held = reservation.pickup_day - datetime.timedelta(days=reservation.hold_days_before)
        last_held = back_on_shelf + datetime.timedelta(days=turnaround_days + reservation.hold_days_after)
        if first_held <= day <= last_held:
            held += lines[item_type_id]
    return held


@pytest.mark.django_db
def test_the_engine_agrees_with_a_brute_force_count_per_day(location, school_a):
    @PROPERTY_SETTINGS
    @given(
        item_specs=item_type_specs,
        reservation_list=reservation_specs,
        today_offset=st.integers(min_value=-10, max_value=20),
        window_offset=st.integers(min_value=-15, max_value=25),
        window_length=st.integers(min_value=1, max_value=30),
        exclude_index=st.none() | st.integers(min_value=0, max_value=13),
        sub_range=st.tuples(st.integers(min_value=0, max_value=29), st.integers(min_value=0, max_value=29)),
        offer_list=offer_specs,
        exclude_offer_index=st.none() | st.integers(min_value=0, max_value=5),
    )
    def check(item_specs, reservation_list, today_offset, window_offset, window_length, exclude_index, sub_range,
              offer_list, exclude_offer_index):
        with transaction.atomic():
            item_types = []
            for spec in item_specs:
                item_type = factories.make_item_type(location=location, units=0, turnaround_days=spec["turnaround_days"])
                for status in spec["unit_statuses"]:
                    factories.make_unit(item_type=item_type, status=status)
                item_types.append((item_type, spec))
            reservations = []
            for spec in reservation_list:
                lines = {
                    item_types[index % len(item_types)][0].pk: quantity for index, quantity in spec["lines"].items()
                }
                pickup_day = offset_day(spec["pickup_offset"])
                reservation = factories.make_reservation(
                    location=location, school=school_a, lines=lines, status=spec["status"],
                    pickup_day=pickup_day, return_day=pickup_day + datetime.timedelta(days=spec["length"]),
                )
                if spec["delivery"] is not None:
                    reservation.fulfilment = "delivery"
                    reservation.hold_days_before, reservation.hold_days_after = spec["delivery"]
                    reservation.collection_by_tour = bool(spec["delivery"][1])
                    reservation.save()
                reservations.append((reservation, lines))
            offers = []
            for rank, spec in enumerate(offer_list):
                pickup_day = offset_day(spec["pickup_offset"])
                offers.append(WaitlistEntry.objects.create(
                    school=school_a, location=location, item_type=item_types[spec["item"] % len(item_types)][0],
                    quantity=spec["quantity"], pickup_day=pickup_day, pickup_slot=datetime.time(9),
                    return_day=pickup_day + datetime.timedelta(days=spec["length"]), status=spec["status"],
                    rank=rank, offer_expires_at=NOW + datetime.timedelta(hours=spec["expires_in"])))
            excluded_offer_id = None
            if exclude_offer_index is not None and exclude_offer_index < len(offers):
                excluded_offer_id = offers[exclude_offer_index].pk
            excluded_id = None
            if exclude_index is not None and exclude_index < len(reservations):
                excluded_id = reservations[exclude_index][0].pk
            today = offset_day(today_offset)
            first_day = offset_day(window_offset)
            last_day = first_day + datetime.timedelta(days=window_length - 1)

            result = availability(
                item_type_ids=[item_type.pk for item_type, _ in item_types], first_day=first_day,
                last_day=last_day, today=today, exclude_reservation_id=excluded_id,
                exclude_offer_id=excluded_offer_id, now=NOW,
            )

            assert set(result) == {item_type.pk for item_type, _ in item_types}
            for item_type, spec in item_types:
                entry = result[item_type.pk]
                loanable = spec["unit_statuses"].count(UnitStatus.AVAILABLE)
                assert entry.loanable == loanable
                expected_free = []
                day = first_day
                while day <= last_day:
                    held = brute_force_held(
                        reservations=reservations, item_type_id=item_type.pk,
                        turnaround_days=spec["turnaround_days"], day=day, today=today, excluded_id=excluded_id,
                    ) + brute_force_offered(offers=offers, item_type_id=item_type.pk,
                                            turnaround_days=spec["turnaround_days"], day=day,
                                            excluded_id=excluded_offer_id)
                    assert entry.on(day).held == held, (item_type, day)
                    assert entry.on(day).free == max(loanable - held, 0)
                    expected_free.append(max(loanable - held, 0))
                    day += ONE_DAY
                assert [each.free for _, each in entry.days()] == expected_free
                start, stop = sorted(min(index, window_length - 1) for index in sub_range)
                assert entry.min_free(
                    first_day + datetime.timedelta(days=start), first_day + datetime.timedelta(days=stop)
                ) == min(expected_free[start:stop + 1])
            transaction.set_rollback(True)

    check()


closure_specs = st.lists(
    st.tuples(
        st.integers(min_value=-10, max_value=40),
        st.integers(min_value=0, max_value=10),
        st.sampled_from(["Ostern", "Pfingsten", "Betriebsausflug", "Inventur"]),
    ),
    max_size=6,
)


@pytest.mark.django_db
def test_counter_days_agree_with_a_brute_force_calendar(location):
    @PROPERTY_SETTINGS
    @given(
        weekdays=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=7, unique=True),
        closures=closure_specs,
        window_offset=st.integers(min_value=-5, max_value=35),
        window_length=st.integers(min_value=1, max_value=21),
    )
    def check(weekdays, closures, window_offset, window_length):
        with transaction.atomic():
            location.counter_weekdays = weekdays
            location.save(update_fields=["counter_weekdays"])
            spans = []
            for start_offset, length, reason in closures:
                first = offset_day(start_offset)
                last = first + datetime.timedelta(days=length)
                # Two identical closures would break the unique constraint; staff would not enter them.
                if (first, last, reason) in spans:
                    continue
                factories.make_closure(location=location, first_day=first, last_day=last, reason=reason)
                spans.append((first, last, reason))
            first_day = offset_day(window_offset)
            last_day = first_day + datetime.timedelta(days=window_length - 1)

            days = counter_days(location=location, first_day=first_day, last_day=last_day)

            assert [each.day for each in days] == [
                first_day + datetime.timedelta(days=offset) for offset in range(window_length)
            ]
            for each in days:
                covering = {reason for first, last, reason in spans if first <= each.day <= last}
                assert each.is_counter_weekday == (each.day.isoweekday() in weekdays)
                if covering:
                    assert each.closure_reason in covering
                else:
                    assert each.closure_reason is None and not each.is_closed
                assert each.is_open == (each.day.isoweekday() in weekdays and not covering)
                # The booking service asks closure_on; the pages ask counter_days: they must agree.
                assert (closure_on(location=location, day=each.day) is not None) == bool(covering)
            transaction.set_rollback(True)

    check()
