"""Reads of the lending domain. Object access goes through here: what a user may not see is 404."""

import datetime
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import QualificationGrant, Role, User
from catalog.models import Location, Unit, UnitStatus
from catalog.selectors import counter_days
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import (
    HOLDING_STATUSES,
    Fulfilment,
    Handover,
    Reservation,
    ReservationLine,
    ReservationStatus,
    UnitEvent,
    WaitlistEntry,
)
from lending.scanning import BOOKING, UNIT
from lending.secrets import normalise_booking_code

WAITLIST_ACTIVE = (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)
ID_MAX = 2**31 - 1  # the largest id either database's integer column holds


def _with_lines(reservations):
    return reservations.select_related("school", "location", "colleague").prefetch_related(
        Prefetch("lines", queryset=ReservationLine.objects.select_related("item_type__required_qualification"))
    )


def staff_locations(user):
    """The counters `user` works at: all for administrators, their own for staff, none otherwise."""
    if not user.is_authenticated or not user.is_counter_staff:
        return Location.objects.none()
    if user.role == Role.ADMIN:
        return Location.objects.all()
    return user.locations.all()


def counter_location_get(*, user, slug):
    """The location whose counter `user` opens: 404 for an unknown one, 403 if they do not work there."""
    location = Location.objects.filter(slug=slug).first()
    if location is None:
        raise Http404
    if not user.is_authenticated or not user.works_at(location):
        raise PermissionDenied
    return location


def reservation_get_for_user(*, user, code):
    """The reservation with this code if `user` may see it (its borrower, the colleague named to
    pick it up, or staff of its counter); else 404."""
    code = normalise_booking_code(code or "")
    if not user.is_authenticated or not code:
        raise Http404
    reservations = _with_lines(Reservation.objects.filter(code=code)).select_related("borrower", "colleague")
    if user.is_counter_staff:
        reservations = reservations.filter(Q(borrower=user) | Q(location__in=staff_locations(user)))
    else:
        reservations = reservations.filter(Q(borrower=user) | Q(colleague=user))
    reservation = reservations.first()
    if reservation is None:
        raise Http404
    return reservation


def reservations_visible_to(*, user, day=None):
    """The bookings `user` may see: their own, those they were named to pick up as a colleague,
    and for staff every booking of their counters;
    with `day`, only those picked up or due back that day.

    The day goes into each branch of the OR rather than around it, so that every branch can use
    its own index (borrower, pickup day; location, pickup day; location, return day): around it,
    SQLite read all of a counter's bookings to find one day's (130 ms at 200,000 bookings)."""
    whose = [Q(borrower=user), Q(colleague=user)]
    if user.is_counter_staff:
        # The ids themselves (one short query), not a subquery: PostgreSQL answers `IN (subquery)`
        # with a scan of every booking, `IN (1, 2)` with the indexes.
        whose.append(Q(location__in=list(staff_locations(user).values_list("pk", flat=True))))
    when = [Q(pickup_day=day), Q(return_day=day)] if day is not None else [Q()]
    return _with_lines(Reservation.objects.filter(reduce(or_, (who & on for who in whose for on in when))))


def reservations_of_borrower(*, borrower, today):
    """A borrower's reservations split as "My bookings" shows them: upcoming, on loan, past; with
    those a colleague named them to pick up (`reservation.borrower` is then someone else)."""
    reservations = list(_with_lines(Reservation.objects.filter(Q(borrower=borrower) | Q(colleague=borrower)))
                        .select_related("borrower").order_by("pickup_day", "id"))
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


def colleagues_of(reservation):
    """Who the borrower may name to pick up and return a booking: the other active teachers of
    the booking's school, by name."""
    return (User.objects.filter(role=Role.TEACHER, is_active=True, schools=reservation.school_id)
            .exclude(pk=reservation.borrower_id).order_by("last_name", "first_name", "username"))


def desk_qualifications(reservation, *, today):
    """For each qualification the booking's items require for use: which items, and whether the
    borrower and the named colleague (None when there is none) hold it today. The booking rules
    check the borrower when booking; this is what the counter sees of the person at the desk.
    One query for the grants (the lines and their item types are prefetched)."""
    required = {}
    for line in reservation.lines.all():
        if line.item_type.required_qualification_id is not None:
            required.setdefault(line.item_type.required_qualification, []).append(line.item_type.name)
    if not required:
        return []
    people = [pk for pk in (reservation.borrower_id, reservation.colleague_id) if pk is not None]
    held = {(grant.user_id, grant.qualification_id)
            for grant in QualificationGrant.objects.filter(user_id__in=people, qualification__in=list(required))
            if grant.is_valid_on(today)}
    return [{
        "qualification": qualification, "item_types": names,
        "borrower": (reservation.borrower_id, qualification.pk) in held,
        "colleague": None if reservation.colleague_id is None else (reservation.colleague_id, qualification.pk) in held,
    } for qualification, names in sorted(required.items(), key=lambda pair: pair[0].name)]


def item_types_free_between(item_types, *, first_day, last_day, today):
    """The item types (a list) with at least one unit free on every day from `first_day` through
    `last_day` plus their turnaround, each with `.free_in_window`. Two queries for any number."""
    if not item_types:
        return []
    longest_turnaround = max(item_type.turnaround_days for item_type in item_types)
    free = availability(
        item_type_ids=[item_type.pk for item_type in item_types], first_day=first_day,
        last_day=last_day + datetime.timedelta(days=longest_turnaround), today=today,
    )
    for item_type in item_types:
        item_type.free_in_window = free[item_type.pk].min_free(
            first_day, last_day + datetime.timedelta(days=item_type.turnaround_days)
        )
    return [item_type for item_type in item_types if item_type.free_in_window > 0]


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


def delivery_days(*, location, item_types, today):
    """The days a delivery of these item types may be delivered and collected on (the tour's
    weekdays without closures, with the delivery notice), or ([], []) when the counter does not
    deliver them. A school bringing the items back returns on a counter day. One query."""
    if not item_types or not location.delivers or not all(item_type.deliverable for item_type in item_types):
        return [], []
    notice = max([location.delivery_lead_days] + [item_type.min_lead_days for item_type in item_types])
    first_day = today + datetime.timedelta(days=notice)
    last_day = today + datetime.timedelta(days=min(item_type.max_advance_days for item_type in item_types))
    last_collection = last_day + datetime.timedelta(days=min(item_type.max_loan_days for item_type in item_types))
    if last_day < first_day:
        return [], []
    tour = set(location.tour_weekdays())
    days = counter_days(location=location, first_day=first_day, last_day=last_collection)
    open_days = [day.day for day in days if not day.is_closed]
    tour_days = [day for day in open_days if day.isoweekday() in tour]
    collection_days = tour_days if location.collection_by_tour else [
        day.day for day in days if day.is_open]
    return [day for day in tour_days if day <= last_day], collection_days


@dataclass
class TourStop:
    """One stop of a tour day: a delivery or a collection (`kind`), its booking with school,
    lines and units (`units`: the asset tags packed or out)."""

    DELIVERY = "delivery"
    COLLECTION = "collection"

    kind: str
    reservation: Reservation
    units: list

    @property
    def school(self):
        return self.reservation.school


def _tour_stops(*, location, first_day, last_day, statuses=HOLDING_STATUSES, fields=("pk",),
                exclude_reservation_id=None):
    """The bookings with a stop on the tour of `location` from `first_day` through `last_day`
    (delivered then, or collected by the tour then), as `fields` rows; one booking with both in
    the range is one row. Two index ranges (location and pickup day; location and return day) in
    a UNION: with an OR across the two days SQLite read every booking of the counter."""
    bookings = Reservation.objects.filter(location=location, fulfilment=Fulfilment.DELIVERY,
                                          status__in=statuses).order_by()
    if exclude_reservation_id is not None:
        bookings = bookings.exclude(pk=exclude_reservation_id)
    return bookings.filter(pickup_day__range=(first_day, last_day)).values_list(*fields).union(
        bookings.filter(return_day__range=(first_day, last_day), collection_by_tour=True).values_list(*fields))


def tour_stops_on(*, location, day, exclude_reservation_id=None):
    """How many stops the tour of `location` has on `day`: deliveries of that day and collections
    by the tour, of bookings that still hold (the count the delivery capacity is checked against).
    One query."""
    return _tour_stops(location=location, first_day=day, last_day=day,
                       exclude_reservation_id=exclude_reservation_id).count()


def tour_of(*, location, day):
    """The tour of `location` on `day`: deliveries of that day and collections by the tour, of
    bookings that still hold (and those already done that day), sorted by postcode, then school.
    A constant number of queries (their ids, bookings, lines, hand-overs)."""
    ids = [pk for (pk,) in _tour_stops(location=location, first_day=day, last_day=day,
                                       statuses=HOLDING_STATUSES + (ReservationStatus.RETURNED,))]
    reservations = list(_with_lines(Reservation.objects.filter(pk__in=ids).select_related("borrower"))
                        .prefetch_related(Prefetch(
        "handovers", queryset=Handover.objects.filter(returned_at__isnull=True).select_related("unit"),
        to_attr="open_handovers",
    )))
    stops = []
    for reservation in reservations:
        units = sorted(handover.unit.asset_tag for handover in reservation.open_handovers)
        if reservation.pickup_day == day:
            stops.append(TourStop(TourStop.DELIVERY, reservation, units))
        if reservation.return_day == day and reservation.collection_by_tour:
            stops.append(TourStop(TourStop.COLLECTION, reservation, units))
    stops.sort(key=lambda stop: (stop.school.postcode, stop.school.name, stop.kind != TourStop.DELIVERY,
                                 stop.reservation.pk))
    return stops


def tour_days_ahead(*, location, today, days=21):
    """The coming tour days of `location` that have stops, with how many: [(day, count)]. One query
    (two index ranges in a UNION)."""
    last = today + datetime.timedelta(days=days)
    counts = {}
    for _pk, pickup_day, return_day, by_tour in _tour_stops(
            location=location, first_day=today, last_day=last,
            fields=("pk", "pickup_day", "return_day", "collection_by_tour")):
        # Delivered and collected on the same day is one stop, as tour_stops_on counts it.
        for stop_day in {pickup_day} | ({return_day} if by_tour else set()):
            if today <= stop_day <= last:
                counts[stop_day] = counts.get(stop_day, 0) + 1
    return sorted(counts.items())


def slots_full(*, location, day):
    """The pickup slots of `day` that already have as many confirmed pickups and open waiting-list
    offers as they take (the count the booking service makes). Two queries."""
    counts = {}
    for rows in (
        Reservation.objects.filter(location=location, pickup_day=day, status=ReservationStatus.CONFIRMED,
                                   fulfilment=Fulfilment.PICKUP),
        WaitlistEntry.objects.filter(location=location, pickup_day=day, status=WaitlistEntry.Status.OFFERED,
                                     offer_expires_at__gt=timezone.now()),
    ):
        for row in rows.values("pickup_slot").annotate(count=Count("pk")).order_by():
            counts[row["pickup_slot"]] = counts.get(row["pickup_slot"], 0) + row["count"]
    return {slot for slot, count in counts.items() if count >= location.slot_capacity}


# Counter --------------------------------------------------------------------------------------------


class HandoverState:
    """Where a booking stands at the counter; the agenda shows it next to each booking."""

    WAITING = "waiting"
    PARTLY_HANDED_OUT = "partly_handed_out"
    HANDED_OUT = "handed_out"
    PARTLY_RETURNED = "partly_returned"
    RETURNED = "returned"


def unit_open_handover(unit):
    """The unit's open hand-over (with its reservation) or None: who has it now. One query."""
    return (
        Handover.objects.filter(unit=unit, returned_at__isnull=True)
        .select_related("reservation", "reservation__borrower", "reservation__school")
        .first()
    )


def units_at_counters(*, locations):
    """The units of these counters (a staff member's: `staff_locations`) with their item type and
    location, each with the open hand-over that holds it, as in `unit_open_handover` (assigned at
    the desk or handed out): `loan_code`, `loan_reservation_status`, `loan_handed_out_at`,
    `loan_return_day`, `loan_school`, `loan_first_name` and `loan_last_name` (None when the unit
    is on the shelf or the borrower was removed). One query for any number."""
    open_handover = Handover.objects.filter(unit=OuterRef("pk"), returned_at__isnull=True)

    def loan(field):
        return Subquery(open_handover.values(field)[:1])

    return (
        Unit.objects.filter(item_type__location__in=locations)
        .select_related("item_type", "item_type__location")
        .annotate(
            loan_code=loan("reservation__code"), loan_reservation_status=loan("reservation__status"),
            loan_handed_out_at=loan("handed_out_at"), loan_return_day=loan("reservation__return_day"),
            loan_school=loan("reservation__school__name"), loan_first_name=loan("reservation__borrower__first_name"),
            loan_last_name=loan("reservation__borrower__last_name"),
        )
        .order_by("asset_tag", "pk")
    )


class UnitState:
    """What a unit is doing now, as the counter needs to know it: its stored status unless it is
    available, else whether an open hand-over holds it (out on loan, or assigned at the desk to a
    hand-over not confirmed yet) and by how many days a loan is overdue."""

    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    AT_DESK = "at_desk"
    CHOICES = ("available", "on_loan", "at_desk", *(status for status in UnitStatus.values if status != "available"))

    def __init__(self, *, stored_status, reservation_status, return_day, today):
        self.overdue_days = 0
        if stored_status != UnitStatus.AVAILABLE or reservation_status is None:
            self.status = stored_status
        elif reservation_status == ReservationStatus.HANDED_OUT:
            self.status = self.ON_LOAN
            self.overdue_days = max((today - return_day).days, 0)
        else:
            self.status = self.AT_DESK

    @property
    def label(self):
        if self.status == self.ON_LOAN:
            return _("on loan")
        if self.status == self.AT_DESK:
            return _("at the desk, for a hand-over")
        return UnitStatus(self.status).label


def _handover_state(*, status, booked, out, back):
    if status == ReservationStatus.RETURNED:
        return HandoverState.RETURNED
    if status == ReservationStatus.CONFIRMED:
        # Units scanned but the hand-over not confirmed yet: it is in progress at the desk.
        return HandoverState.PARTLY_HANDED_OUT if out else HandoverState.WAITING
    if status == ReservationStatus.HANDED_OUT:
        if back:
            return HandoverState.PARTLY_RETURNED
        return HandoverState.PARTLY_HANDED_OUT if out < booked else HandoverState.HANDED_OUT
    return None


def reservations_handover_states(reservations):
    """{reservation pk: state} for many bookings in two queries, for the counter agenda.

    States: waiting, partly_handed_out (some units out, or fewer than booked), handed_out,
    partly_returned (some units back, some still out), returned; None for cancelled and
    not-picked-up bookings.
    """
    reservations = list(reservations)
    ids = [reservation.pk for reservation in reservations]
    booked = dict(
        ReservationLine.objects.filter(reservation_id__in=ids).values("reservation_id")
        .annotate(total=Sum("quantity")).order_by().values_list("reservation_id", "total")
    )
    counts = {
        row["reservation_id"]: row
        for row in Handover.objects.filter(reservation_id__in=ids).values("reservation_id").annotate(
            out=Count("pk", filter=Q(returned_at__isnull=True)), back=Count("pk", filter=Q(returned_at__isnull=False))
        ).order_by()
    }
    return {
        reservation.pk: _handover_state(
            status=reservation.status, booked=booked.get(reservation.pk, 0),
            out=counts.get(reservation.pk, {}).get("out", 0), back=counts.get(reservation.pk, {}).get("back", 0),
        )
        for reservation in reservations
    }


@dataclass
class Agenda:
    """A counter day as the counter page shows it."""

    day: datetime.date
    pickups_by_slot: list  # [(slot start time, [Reservation, ...]), ...] in slot order
    returns: list  # due back that day and still out (wholly or partly)
    returned_count: int  # due back that day and back already: counted, not listed
    overdue: list  # handed out and due before that day (only on today's agenda)


def counter_agenda(*, location, day, today):
    """Pickups by slot, returns due and overdue loans of one counter day, each with its counter
    state as `.counter_state` and its lines as `.agenda_lines`. At most nine queries, whatever
    the number of bookings."""
    base = (
        Reservation.objects.filter(location=location).select_related("borrower", "school")
        .prefetch_related(Prefetch("lines", queryset=ReservationLine.objects.select_related("item_type"),
                                   to_attr="agenda_lines"))
    )
    # Deliveries go out with the tour (tour_of), not across the desk in a slot.
    pickups = list(base.filter(pickup_day=day, fulfilment=Fulfilment.PICKUP).exclude(status=ReservationStatus.CANCELLED)
                   .order_by("pickup_slot", "id"))
    due = Reservation.objects.filter(location=location, return_day=day)
    returns = list(base.filter(pk__in=due.filter(status=ReservationStatus.HANDED_OUT).values("pk"))
                   .order_by("borrower__last_name", "id"))
    overdue = []
    if day == today:
        # Collected by the tour on time, the units are on their way back, not overdue.
        overdue = list(base.filter(status=ReservationStatus.HANDED_OUT, return_day__lt=day)
                       .exclude(collected_at__date__lte=F("return_day")).order_by("return_day", "id"))
    everything = {reservation.pk: reservation for reservation in pickups + returns + overdue}
    states = reservations_handover_states(everything.values())
    for reservation in pickups + returns + overdue:
        reservation.counter_state = states[reservation.pk]
    slots = {}
    for reservation in pickups:
        slots.setdefault(reservation.pickup_slot, []).append(reservation)
    return Agenda(
        day=day, pickups_by_slot=list(slots.items()), returns=returns, overdue=overdue,
        returned_count=due.filter(status=ReservationStatus.RETURNED).count(),
    )


def reservation_handover_state(reservation):
    """The counter state of one booking; see `reservations_handover_states`."""
    return reservations_handover_states([reservation])[reservation.pk]


def scan_lookup(*, kind, value):
    """The Reservation or Unit a parsed scan names (see lending.scanning); a bare code is tried as
    an asset tag first, then as a booking code. Raises BookingError("scan_unknown")."""
    if kind in (UNIT, "code"):
        unit = Unit.objects.select_related("item_type").filter(asset_tag=value).first()
        if unit is not None:
            return unit
    if kind in (BOOKING, "code"):
        code = normalise_booking_code(value)
        reservation = _with_lines(Reservation.objects.filter(code=code).select_related("borrower")).first() if code else None
        if reservation is not None:
            return reservation
    raise BookingError("scan_unknown")


def reservation_handovers(reservation):
    """Every unit that went out on a booking (out now or back), with its item: the hand-over
    page and the loan slip. Units scanned and taken off again before the hand-over are not
    here (their rows are deleted; the events keep them)."""
    return list(
        Handover.objects.filter(reservation=reservation)
        .select_related("unit", "unit__item_type", "handed_out_by").order_by("unit__asset_tag")
    )


def _open_days(*, location, first_day, last_day):
    if first_day > last_day:
        return []
    return [day.day for day in counter_days(location=location, first_day=first_day, last_day=last_day) if day.is_open]


def extension_return_days(*, reservation, today):
    """The open counter days a loan may be extended to: after its return day and not before
    today, within the shortest longest-loan of its items from the pickup day. The service
    checks the units."""
    longest = min(line.item_type.max_loan_days for line in reservation.lines.all())
    first_day = max(reservation.return_day + datetime.timedelta(days=1), today)
    last_day = reservation.pickup_day + datetime.timedelta(days=longest)
    if reservation.is_delivery and reservation.collection_by_tour:
        # The tour collects it on the new day: the tour's days, not the counter's.
        tour = set(reservation.location.tour_weekdays())
        return [day.day for day in counter_days(location=reservation.location, first_day=first_day, last_day=last_day)
                if not day.is_closed and day.day.isoweekday() in tour]
    return _open_days(location=reservation.location, first_day=first_day, last_day=last_day)


def walk_in_return_days(*, location, item_types, today):
    """The open counter days a walk-in booking from today may run to (the longest loan of any
    item of the counter; the service checks the booked ones)."""
    longest = max((item_type.max_loan_days for item_type in item_types), default=0)
    return _open_days(location=location, first_day=today, last_day=today + datetime.timedelta(days=longest))


def walk_in_tour_days(*, location, today, days=120):
    """The coming tour days (from tomorrow) staff may book a delivery on at the counter; the notice
    is theirs to override. Empty when the counter does not deliver."""
    if not location.delivers:
        return []
    tour = set(location.tour_weekdays())
    return [day.day for day in counter_days(location=location, first_day=today + datetime.timedelta(days=1),
                                             last_day=today + datetime.timedelta(days=days))
            if not day.is_closed and day.day.isoweekday() in tour]


def unit_history(unit):
    """The unit's events, newest first, with who did them: its page shows this."""
    return UnitEvent.objects.filter(unit=unit).select_related("actor").order_by("-at", "-id")


# The waiting list ----------------------------------------------------------------------------------


def _with_place(entries):
    """Each entry with `ahead`: how many active entries of its item type are before it in line."""
    ahead = (WaitlistEntry.objects.filter(item_type=OuterRef("item_type"), status__in=WAITLIST_ACTIVE,
                                          rank__lt=OuterRef("rank"))
             .order_by().values("item_type").annotate(count=Count("pk")).values("count"))
    return entries.annotate(ahead=Coalesce(Subquery(ahead), 0))


def waitlist_of_borrower(*, borrower):
    """A teacher's open places on the waiting list (waiting or offered), with their place in line."""
    return list(_with_place(WaitlistEntry.objects.filter(borrower=borrower, status__in=WAITLIST_ACTIVE))
                .select_related("item_type", "location", "school").order_by("pickup_day", "rank"))


def waitlist_entry_get_for_user(*, user, pk):
    """One of the user's own waiting-list entries, with its place in line; 404 for anyone else's
    (or a malformed id)."""
    if not (str(pk).isascii() and str(pk).isdigit()) or int(pk) > ID_MAX:
        raise Http404
    entry = _with_place(WaitlistEntry.objects.filter(pk=pk, borrower=user)).select_related("item_type", "school").first()
    if entry is None:
        raise Http404
    return entry


def waitlist_of_location(*, location):
    """The counter's waiting lists: the active entries of each item type, in line order."""
    return list(_with_place(WaitlistEntry.objects.filter(location=location, status__in=WAITLIST_ACTIVE))
                .select_related("item_type", "borrower", "school").order_by("item_type__name", "item_type_id", "rank",
                                                                            "pk"))
