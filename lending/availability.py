"""The availability engine: how many units of each item type are free on each day.

A reservation holds units of an item type from its pickup day through its return day plus the
item type's turnaround buffer (charging, cleaning, wiping). A delivery to a school holds from the
day the tour packs it (its `hold_days_before`) through the day after the tour collects it (its
`hold_days_after`), plus the buffer; both are fixed on the reservation when it is booked. A loan that is handed out and not back
by its return day keeps holding through today (plus the buffer), because the units are not on the
shelf. An open offer from the waiting list holds like a confirmed booking until it is taken or
runs out (lending/waitlist.py). Only units whose status is loanable count; units in maintenance, lost or retired do not.

Hand-overs (which unit is with whom) do not enter the count: a booking holds its booked quantity
from pickup day through return day, whether the counter handed out all of it, fewer units, or
took some back early. A unit on loan is therefore already counted through its reservation line,
and a unit taken back damaged leaves the loanable count at once (maintenance) while its booking
still holds its share until the return day: conservative on purpose, one simple rule.

`availability()` answers for many item types and a whole date range with two queries, whatever
the number of item types, days or reservations: one for the item types with their loanable unit
counts, one for the reservation lines and waiting-list offers that overlap the window. The rest is a sweep in Python.
"""

import datetime
from dataclasses import dataclass

from django.db.models import CharField, Count, PositiveSmallIntegerField, Q, Value
from django.utils import timezone

from catalog.models import LOANABLE_UNIT_STATUSES, ItemType
from lending.models import (
    HOLDING_STATUSES,
    MAX_HOLD_DAYS_BEFORE,
    ReservationLine,
    ReservationStatus,
    WaitlistEntry,
)

ONE_DAY = datetime.timedelta(days=1)
# Up to this many item types the lines query names them; beyond, it reads the whole window.
FEW_ITEM_TYPES = 20


@dataclass(frozen=True)
class DayAvailability:
    loanable: int
    held: int

    @property
    def free(self):
        return max(self.loanable - self.held, 0)


@dataclass
class ItemTypeAvailability:
    item_type_id: int
    turnaround_days: int
    loanable: int
    first_day: datetime.date
    held_per_day: list

    def _offset(self, day):
        # A negative index would silently read the window from its end, so refuse days outside it.
        offset = (day - self.first_day).days
        if not 0 <= offset < len(self.held_per_day):
            raise ValueError(f"{day} is outside the window")
        return offset

    def on(self, day):
        """The availability on one day of the window."""
        return DayAvailability(self.loanable, self.held_per_day[self._offset(day)])

    def days(self):
        for offset, held in enumerate(self.held_per_day):
            yield self.first_day + datetime.timedelta(days=offset), DayAvailability(self.loanable, held)

    def min_free(self, first_day, last_day):
        """The fewest units free on any day from first_day through last_day (both in the window)."""
        start = self._offset(first_day)
        stop = self._offset(last_day) + 1
        if stop <= start:
            raise ValueError("last_day is before first_day")
        return max(self.loanable - max(self.held_per_day[start:stop]), 0)


def hold_end(*, return_day, status, turnaround_days, today, days_after=0):
    """The last day a reservation holds its units (`days_after`: its hold_days_after)."""
    if status == ReservationStatus.HANDED_OUT and return_day < today:
        return_day = today
    return return_day + datetime.timedelta(days=turnaround_days + days_after)


# The most days after its return day a reservation holds besides the turnaround (a delivery
# collected by the tour: one); the lines query widens its window by it.
MAX_HOLD_DAYS_AFTER = 1


def availability(*, item_type_ids, first_day, last_day, today, exclude_reservation_id=None, exclude_offer_id=None,
                 now=None):
    """Per item type and day from `first_day` through `last_day`: loanable, held and free units.

    Arguments:
        item_type_ids: the item types to answer for (ids); unknown ids are left out of the result.
        first_day, last_day: the window, both inclusive.
        today: the local date; handed-out loans past their return day hold through it.
        exclude_reservation_id: leave one reservation out, to re-check a change to it.
        exclude_offer_id: leave one waiting-list offer out, to book it.
        now: the moment that decides which waiting-list offers are still open (default: now).

    Returns a dict {item_type_id: ItemTypeAvailability}. Two queries, always.
    """
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    item_type_ids = list(item_type_ids)
    window_length = (last_day - first_day).days + 1
    rows = (
        ItemType.objects.filter(id__in=item_type_ids)
        .annotate(loanable=Count("units", filter=Q(units__status__in=LOANABLE_UNIT_STATUSES)))
        .order_by()  # the default ordering would join the categories for nothing
        .values_list("id", "turnaround_days", "loanable")
    )
    result = {
        item_type_id: ItemTypeAvailability(item_type_id, turnaround_days, loanable, first_day, [0] * window_length)
        for item_type_id, turnaround_days, loanable in rows
    }
    if not result:
        return result
    longest_turnaround = max(entry.turnaround_days for entry in result.values())

    # A line can reach into the window if it starts by its end and, with the longest buffer, ends
    # after its start; handed-out loans may be overdue and reach up to today, so take them all.
    # Written as one range per status, each a range of the (status, return_day, pickup_day)
    # index: with the statuses in one IN and an OR across them, PostgreSQL misjudged the rows
    # fourfold and read every line of history in a sequential scan. The lines of the bookings
    # found come from the (reservation, item_type, quantity) index without touching the table.
    assert set(HOLDING_STATUSES) == {ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT}
    lines = ReservationLine.objects.filter(
        Q(reservation__status=ReservationStatus.CONFIRMED,
          reservation__return_day__gte=first_day - datetime.timedelta(days=longest_turnaround + MAX_HOLD_DAYS_AFTER))
        | Q(reservation__status=ReservationStatus.HANDED_OUT),
        # A delivery starts holding before its pickup (delivery) day, when the tour packs: the
        # range reaches that far, and only such bookings are taken from its far end (a condition
        # on the index's columns, so no booking row is read for it).
        Q(reservation__pickup_day__lte=last_day) | Q(reservation__hold_days_before__gt=0),
        reservation__pickup_day__lte=last_day + datetime.timedelta(days=MAX_HOLD_DAYS_BEFORE),
    ).order_by()
    if len(result) <= FEW_ITEM_TYPES:
        lines = lines.filter(item_type_id__in=result.keys())
    # For many item types (the catalogue's free filter) the lines are filtered here instead:
    # with a long IN list SQLite probes the line index once per id and per holding reservation
    # (half a second at 200,000 reservations), while the date window alone is an index range.
    if exclude_reservation_id is not None:
        lines = lines.exclude(reservation_id=exclude_reservation_id)
    # Open waiting-list offers hold like confirmed bookings, read in the same query (a UNION).
    offers = WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.OFFERED, offer_expires_at__gt=now or timezone.now(),
        return_day__gte=first_day - datetime.timedelta(days=longest_turnaround), pickup_day__lte=last_day,
    ).order_by()
    if len(result) <= FEW_ITEM_TYPES:
        offers = offers.filter(item_type_id__in=result.keys())
    if exclude_offer_id is not None:
        offers = offers.exclude(pk=exclude_offer_id)
    rows = lines.values_list(
        "item_type_id", "quantity", "reservation__pickup_day", "reservation__return_day", "reservation__status",
        "reservation__hold_days_before", "reservation__hold_days_after",
    ).union(
        offers.annotate(hold_status=Value(ReservationStatus.CONFIRMED.value, output_field=CharField()),
                        no_days=Value(0, output_field=PositiveSmallIntegerField()))
        .values_list("item_type_id", "quantity", "pickup_day", "return_day", "hold_status", "no_days", "no_days"),
        all=True,
    )

    # Difference array per item type: +quantity on the first held day, -quantity after the last.
    deltas = {item_type_id: [0] * (window_length + 1) for item_type_id in result}
    for item_type_id, quantity, pickup_day, return_day, status, days_before, days_after in rows:
        entry = result.get(item_type_id)
        if entry is None:
            continue
        last_held = hold_end(
            return_day=return_day, status=status, turnaround_days=entry.turnaround_days, today=today,
            days_after=days_after,
        )
        start = (pickup_day - first_day).days - days_before
        if last_held < first_day or start >= window_length:
            continue
        start = max(start, 0)
        stop = min((last_held - first_day).days, window_length - 1) + 1
        delta = deltas[item_type_id]
        delta[start] += quantity
        delta[stop] -= quantity
    for item_type_id, entry in result.items():
        running = 0
        delta = deltas[item_type_id]
        held = entry.held_per_day
        for offset in range(window_length):
            running += delta[offset]
            held[offset] = running
    return result
