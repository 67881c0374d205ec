"""Bookings at risk: units of their item type are still out on an overdue loan, and without them
the remaining loanable units no longer cover the booking.

The availability engine counts an overdue loan as holding through today (plus the turnaround
buffer), as if it came back today. Here it is assumed to stay out: a confirmed booking whose
pickup is still ahead is at risk when, on some day of its period, the loanable units minus what
the other bookings hold minus what is out overdue (from the day the engine stops counting it) are
fewer than it booked. Only item types with units out overdue are looked at; a booking short for
other reasons (units sent to repair) is the availability engine's and the counter's business.

For each booking at risk it says what the counter can offer instead: the most units of that item
type it can still have for its period, and the next pickup day (an open counter day, within
ALTERNATIVE_DAYS) from which the same loan length is covered.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Sum

from catalog.models import Location
from catalog.selectors import counter_days
from lending.availability import availability
from lending.models import Reservation, ReservationLine, ReservationStatus

ALTERNATIVE_DAYS = 28


@dataclass(frozen=True)
class AtRisk:
    reservation_id: int
    item_type_id: int
    booked: int
    coverable: int  # the most units of the item type still there for the booking's period
    next_day: datetime.date | None  # the next pickup day with `booked` units for the same length
    item_type_name: str = ""


def bookings_at_risk(*, today, location=None, pickup_until=None):
    """{reservation id: [AtRisk, one per item type short]} of the confirmed bookings picked up
    from today (through `pickup_until`, if given), optionally of one location. A fixed number of
    queries: the overdue loans, the candidate lines and their names, the engine (two), the locations
    and their counter days (one per location)."""
    overdue = dict(ReservationLine.objects.filter(
        reservation__status=ReservationStatus.HANDED_OUT, reservation__return_day__lt=today,
        reservation__collected_at__isnull=True,  # collected by the tour: on its way back
    ).values("item_type_id").annotate(out=Sum("quantity")).values_list("item_type_id", "out"))
    if not overdue:
        return {}
    # A delivery already packed has its units in the van: nothing overdue can take them any more.
    lines = ReservationLine.objects.filter(
        item_type_id__in=overdue, reservation__status=ReservationStatus.CONFIRMED, reservation__pickup_day__gte=today,
    ).exclude(reservation__packed_at__isnull=False)
    if location is not None:
        lines = lines.filter(reservation__location=location)
    if pickup_until is not None:
        lines = lines.filter(reservation__pickup_day__lte=pickup_until)
    # With each booking's hold around its days: a delivery holds from its packing day through the
    # day after its collection.
    candidates = list(lines.values_list("reservation_id", "item_type_id", "quantity", "reservation__pickup_day",
                                        "reservation__return_day", "reservation__location_id",
                                        "reservation__hold_days_before", "reservation__hold_days_after"))
    names = dict(lines.values_list("item_type_id", "item_type__name").distinct())
    if not candidates:
        return {}
    longest = max((return_day - pickup_day).days for _r, _t, _q, pickup_day, return_day, *_rest in candidates)
    last_day = max(return_day for _r, _t, _q, _p, return_day, *_rest in candidates) + datetime.timedelta(
        days=ALTERNATIVE_DAYS + longest)
    engine = availability(item_type_ids={item_type_id for _r, item_type_id, *_rest in candidates},
                          first_day=today, last_day=last_day, today=today)
    open_days = {
        location.pk: {day.day for day in counter_days(location=location, first_day=today, last_day=last_day)
                      if day.is_open}
        for location in Location.objects.filter(pk__in={location_id for *_rest, location_id, _before, _after in candidates})
    }

    found = {}
    for reservation_id, item_type_id, quantity, pickup_day, return_day, location_id, before, after in candidates:
        entry = engine.get(item_type_id)
        if entry is None:
            continue
        first_held = max(pickup_day - datetime.timedelta(days=before), today)
        last_held = return_day + datetime.timedelta(days=after)
        own = _Own(quantity, first_held, last_held + datetime.timedelta(days=entry.turnaround_days))
        out = overdue[item_type_id]
        covered = _coverable(entry, out, today, own, first_held, last_held)
        if covered >= quantity:
            continue
        length = return_day - pickup_day
        # Another day is suggested among the counter days, so not for a delivery (the tour's days).
        next_day = None if before or after else next((day for day in sorted(open_days[location_id])
                         if pickup_day < day <= pickup_day + datetime.timedelta(days=ALTERNATIVE_DAYS)
                         and day + length in open_days[location_id]
                         and _coverable(entry, out, today, own, day, day + length) >= quantity), None)
        found.setdefault(reservation_id, []).append(
            AtRisk(reservation_id, item_type_id, quantity, max(covered, 0), next_day, names[item_type_id]))
    return found


@dataclass(frozen=True)
class _Own:
    """The booking's own hold, which the engine counts and which is given back to it."""

    quantity: int
    first_day: datetime.date
    last_day: datetime.date


def _coverable(entry, out, today, own, first_day, last_day):
    """The fewest units there on any day from first_day through last_day for the booking: loanable
    minus what others hold, with the `out` overdue units still out after the engine lets them go."""
    still_out_from = today + datetime.timedelta(days=entry.turnaround_days + 1)
    fewest = None
    day = first_day
    while day <= last_day:
        there = entry.loanable - entry.on(day).held - (out if day >= still_out_from else 0)
        if own.first_day <= day <= own.last_day:
            there += own.quantity
        fewest = there if fewest is None else min(fewest, there)
        day += datetime.timedelta(days=1)
    return fewest


def reservations_at_risk(*, today, location=None, pickup_until=None):
    """The at-risk bookings themselves, with `.at_risk` (their AtRisk list), by pickup day."""
    found = bookings_at_risk(today=today, location=location, pickup_until=pickup_until)
    reservations = list(Reservation.objects.filter(pk__in=found).select_related("borrower", "location")
                        .order_by("pickup_day", "pickup_slot", "pk"))
    for reservation in reservations:
        reservation.at_risk = found[reservation.pk]
    return reservations
