"""Reads of the lending domain. Object access goes through here: what a user may not see is 404."""

import datetime

from django.db.models import Count, Prefetch
from django.http import Http404

from catalog.selectors import counter_days
from lending.models import Reservation, ReservationLine, ReservationStatus
from lending.secrets import normalise_booking_code


def _with_lines(reservations):
    return reservations.select_related("school", "location").prefetch_related(
        Prefetch("lines", queryset=ReservationLine.objects.select_related("item_type"))
    )


def reservation_get_for_user(*, user, code):
    """The reservation with this code if `user` may see it (its borrower, or counter staff); else 404."""
    code = normalise_booking_code(code or "")
    if not user.is_authenticated or not code:
        raise Http404
    reservations = _with_lines(Reservation.objects.filter(code=code))
    if not user.is_counter_staff:
        reservations = reservations.filter(borrower=user)
    reservation = reservations.first()
    if reservation is None:
        raise Http404
    return reservation


def reservations_of_borrower(*, borrower, today):
    """A borrower's reservations split as "My bookings" shows them: upcoming, on loan, past."""
    reservations = list(_with_lines(Reservation.objects.filter(borrower=borrower)).order_by("pickup_day", "id"))
    split = {"upcoming": [], "on_loan": [], "past": []}
    for reservation in reservations:
        if reservation.status == ReservationStatus.CONFIRMED and reservation.pickup_day >= today:
            split["upcoming"].append(reservation)
        elif reservation.status == ReservationStatus.HANDED_OUT:
            split["on_loan"].append(reservation)
        else:
            split["past"].append(reservation)
    split["past"].reverse()
    return split


def bookable_days(*, location, item_types, today):
    """The open counter days a booking of these item types may start and end on.

    Pickup days honour the longest lead time and the shortest advance limit of the item types;
    return days run up to the shortest longest-loan after the last pickup day. The booking
    service checks again; this only keeps impossible days out of the forms. One query.
    """
    if not item_types:
        return [], []
    first_pickup = today + datetime.timedelta(days=max(item_type.min_lead_days for item_type in item_types))
    last_pickup = today + datetime.timedelta(days=min(item_type.max_advance_days for item_type in item_types))
    last_return = last_pickup + datetime.timedelta(days=min(item_type.max_loan_days for item_type in item_types))
    if last_pickup < first_pickup:
        return [], []
    open_days = [day.day for day in counter_days(location=location, first_day=first_pickup, last_day=last_return) if day.is_open]
    return [day for day in open_days if day <= last_pickup], open_days


def slots_full(*, location, day):
    """The pickup slots of `day` that already have as many confirmed pickups as they take. One query."""
    taken = (
        Reservation.objects.filter(location=location, pickup_day=day, status=ReservationStatus.CONFIRMED)
        .values("pickup_slot").annotate(count=Count("pk")).order_by()
    )
    return {row["pickup_slot"] for row in taken if row["count"] >= location.slot_capacity}
