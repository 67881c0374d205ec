"""Writes of the lending domain: create, change and cancel reservations.

Every write that competes for units runs in one transaction that locks, re-checks, then writes:
first the reservation it changes (if any), then the booked item types in id order, then their
location row (pickup slots are counted per location). Two bookings never interleave their check
and their write, and every writer takes its locks in that order, so none can deadlock. On
PostgreSQL the locks are row locks (SELECT … FOR UPDATE); on SQLite the transaction takes the
database write lock when it begins (settings: transaction_mode IMMEDIATE), which serialises
writers the same way.
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import QualificationGrant
from catalog.models import ItemType, Location
from catalog.selectors import closure_on
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import (
    Reservation,
    ReservationEvent,
    ReservationLine,
    ReservationStatus,
)

logger = logging.getLogger(__name__)

MAX_QUANTITY_PER_LINE = 500


def _is_whole_number(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _normalise_lines(lines):
    """{item_type_id: quantity} from a mapping or pairs; refuses empty, zero, negative, absurd."""
    pairs = lines.items() if hasattr(lines, "items") else lines
    merged = {}
    try:
        pairs = list(pairs)
        for item_type, quantity in pairs:
            item_type_id = getattr(item_type, "pk", item_type)
            # Each pair on its own: [(7, 3), (7, -2)] must not pass as one unit of item type 7.
            if not _is_whole_number(quantity) or quantity < 1 or not _is_whole_number(item_type_id):
                raise BookingError("quantity_invalid")
            merged[item_type_id] = merged.get(item_type_id, 0) + quantity
    except (TypeError, ValueError):
        raise BookingError("quantity_invalid") from None
    if not merged or any(quantity < 1 or quantity > MAX_QUANTITY_PER_LINE for quantity in merged.values()):
        raise BookingError("quantity_invalid")
    return merged


def _check_borrower(*, borrower, school):
    if borrower is None or not borrower.is_active or not borrower.is_teacher:
        raise BookingError("not_a_teacher")
    if school is None or not school.active or not borrower.schools.filter(pk=school.pk).exists():
        raise BookingError("unknown_school")


def _lock_location_and_item_types(*, item_type_ids, location_id=None):
    """Lock the item types by id, then their location (after any reservation, see above)."""
    item_types = list(ItemType.objects.select_for_update().filter(id__in=item_type_ids).order_by("id"))
    if len(item_types) != len(set(item_type_ids)):
        raise BookingError("quantity_invalid")
    location_ids = {item_type.location_id for item_type in item_types}
    if location_id is not None:
        location_ids.add(location_id)
    if len(location_ids) != 1:
        raise BookingError("mixed_locations")
    location = Location.objects.select_for_update().get(pk=location_ids.pop())
    return location, item_types


def _check_day_is_open(*, location, day):
    if day.isoweekday() not in location.counter_weekdays:
        raise BookingError("not_a_counter_day", day=day.isoformat())
    closure = closure_on(location=location, day=day)
    if closure is not None:
        raise BookingError("closed", day=day.isoformat(), reason=closure.reason)


def _check_rules(*, location, item_types, borrower, pickup_day, pickup_slot, return_day, today,
                 checked_item_types=None, lead_time_item_types=None, check_pickup_day=True,
                 check_return_day=True, check_slot=True, exclude_reservation_id=None):
    """The booking rules. A change passes only what it changes: `checked_item_types` (default
    all) get the item rules (pause, qualification, loan length), `lead_time_item_types` (default
    all) the lead time and advance limit, and the pickup or return day is checked for being an
    open counter day only when it is new."""
    checked = item_types if checked_item_types is None else checked_item_types
    lead_time_checked = item_types if lead_time_item_types is None else lead_time_item_types
    for item_type in checked:
        if item_type.paused:
            raise BookingError("item_paused", item_type=item_type.pk)
    required = {item_type.required_qualification_id for item_type in checked} - {None}
    if required:
        held = {
            grant.qualification_id
            for grant in QualificationGrant.objects.filter(user=borrower, qualification_id__in=required)
            if grant.is_valid_on(pickup_day)
        }
        if required - held:
            raise BookingError("qualification_missing", qualifications=sorted(required - held))
    if return_day < pickup_day:
        raise BookingError("return_before_pickup")
    if check_pickup_day:
        _check_day_is_open(location=location, day=pickup_day)
    if check_return_day:
        _check_day_is_open(location=location, day=return_day)
    if check_slot and pickup_slot not in location.slot_times():
        raise BookingError("slot_invalid")
    if lead_time_checked:
        lead_days = (pickup_day - today).days
        if lead_days < max(item_type.min_lead_days for item_type in lead_time_checked) or lead_days < 0:
            raise BookingError("too_soon")
        if lead_days > min(item_type.max_advance_days for item_type in lead_time_checked):
            raise BookingError("too_far_ahead")
    if checked and (return_day - pickup_day).days > min(item_type.max_loan_days for item_type in checked):
        raise BookingError("too_long")
    if check_slot:
        taken = Reservation.objects.filter(
            location=location, pickup_day=pickup_day, pickup_slot=pickup_slot,
            status=ReservationStatus.CONFIRMED,
        )
        if exclude_reservation_id is not None:
            taken = taken.exclude(pk=exclude_reservation_id)
        if taken.count() >= location.slot_capacity:
            raise BookingError("slot_full")


def _check_units(*, item_types, quantities, pickup_day, return_day, today, exclude_reservation_id=None):
    longest_turnaround = max(item_type.turnaround_days for item_type in item_types)
    window_end = return_day + datetime.timedelta(days=longest_turnaround)
    free = availability(
        item_type_ids=quantities.keys(), first_day=pickup_day, last_day=window_end, today=today,
        exclude_reservation_id=exclude_reservation_id,
    )
    for item_type in item_types:
        hold_until = return_day + datetime.timedelta(days=item_type.turnaround_days)
        if free[item_type.pk].min_free(pickup_day, hold_until) < quantities[item_type.pk]:
            raise BookingError("not_enough_units", item_type=item_type.pk)


def reservation_create(*, borrower, school, pickup_day, pickup_slot, return_day, lines, note="", actor=None):
    """Book one or more item types for one borrower, from a pickup day and slot to a return day.

    Arguments:
        borrower: the teacher who borrows; school: one of the borrower's schools.
        pickup_day, pickup_slot, return_day: counter days and a slot start time of the location.
        lines: {item_type or id: quantity}; all item types must belong to one location.
        note: free text from the borrower; actor: who books (defaults to the borrower).

    Raises BookingError with one of: not_a_teacher, unknown_school, quantity_invalid,
    mixed_locations, item_paused, qualification_missing, return_before_pickup, not_a_counter_day,
    closed, slot_invalid, too_soon, too_far_ahead, too_long, slot_full, not_enough_units.
    Nothing is written when it raises.
    """
    _check_borrower(borrower=borrower, school=school)
    quantities = _normalise_lines(lines)
    if return_day < pickup_day:
        raise BookingError("return_before_pickup")
    today = timezone.localdate()
    with transaction.atomic():
        location, item_types = _lock_location_and_item_types(item_type_ids=list(quantities))
        _check_rules(
            location=location, item_types=item_types, borrower=borrower, pickup_day=pickup_day,
            pickup_slot=pickup_slot, return_day=return_day, today=today,
        )
        _check_units(item_types=item_types, quantities=quantities, pickup_day=pickup_day,
                     return_day=return_day, today=today)
        reservation = Reservation(
            borrower=borrower, school=school, location=location, pickup_day=pickup_day,
            pickup_slot=pickup_slot, return_day=return_day, note=note,
        )
        reservation.full_clean()
        reservation.save()
        ReservationLine.objects.bulk_create(
            ReservationLine(reservation=reservation, item_type_id=item_type_id, quantity=quantity)
            for item_type_id, quantity in sorted(quantities.items())
        )
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor or borrower, action=ReservationEvent.Action.CREATED,
            data=_snapshot(reservation, quantities),
        )
    logger.info("reservation %s created by %s", reservation.code, (actor or borrower).pk)
    return reservation


def reservation_change(*, reservation, actor, pickup_day=None, pickup_slot=None, return_day=None, lines=None):
    """Change the days, slot or lines of a confirmed reservation; what is not given stays.

    The same rules as for a new booking apply to what changes: the lead time and furthest advance
    only when the pickup day changes, the slot capacity only when the day or slot changes. Units
    the reservation already holds count as free for itself.

    Raises BookingError: not_changeable (not confirmed, or the pickup day has passed) and every
    code of `reservation_create` except the borrower checks. Nothing is written when it raises.
    """
    today = timezone.localdate()
    new_quantities = _normalise_lines(lines) if lines is not None else None
    with transaction.atomic():
        # The reservation is locked first, so its lines cannot move while they are checked.
        # Creating a booking never waits for a reservation lock, so taking it before the item
        # types cannot deadlock with one.
        reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if reservation.status != ReservationStatus.CONFIRMED or reservation.pickup_day < today:
            raise BookingError("not_changeable")
        current_lines = {line.item_type_id: line.quantity for line in reservation.lines.all()}
        quantities = current_lines if new_quantities is None else new_quantities
        location, item_types = _lock_location_and_item_types(
            item_type_ids=sorted(quantities), location_id=reservation.location_id
        )
        new_pickup_day = pickup_day or reservation.pickup_day
        new_slot = pickup_slot or reservation.pickup_slot
        new_return_day = return_day or reservation.return_day
        if new_return_day < new_pickup_day:
            raise BookingError("return_before_pickup")
        pickup_changed = new_pickup_day != reservation.pickup_day
        return_changed = new_return_day != reservation.return_day
        # What changes is checked as for a new booking, what stays is not: new days against every
        # item type (the lead time only for a new pickup day), and lines that grow with the same
        # days (more units on short notice is a new promise; fewer, or a later return, is not).
        growing = [item_type for item_type in item_types
                   if quantities[item_type.pk] > current_lines.get(item_type.pk, 0)]
        _check_rules(
            location=location, item_types=item_types, borrower=reservation.borrower,
            pickup_day=new_pickup_day, pickup_slot=new_slot, return_day=new_return_day, today=today,
            checked_item_types=item_types if pickup_changed or return_changed else growing,
            lead_time_item_types=item_types if pickup_changed else growing,
            check_pickup_day=pickup_changed, check_return_day=return_changed,
            check_slot=pickup_changed or new_slot != reservation.pickup_slot,
            exclude_reservation_id=reservation.pk,
        )
        _check_units(item_types=item_types, quantities=quantities, pickup_day=new_pickup_day,
                     return_day=new_return_day, today=today, exclude_reservation_id=reservation.pk)
        before = _snapshot(reservation, current_lines)
        reservation.pickup_day = new_pickup_day
        reservation.pickup_slot = new_slot
        reservation.return_day = new_return_day
        reservation.sequence += 1
        reservation.full_clean()
        reservation.save()
        if quantities != current_lines:
            reservation.lines.exclude(item_type_id__in=quantities).delete()
            for item_type_id, quantity in quantities.items():
                ReservationLine.objects.update_or_create(
                    reservation=reservation, item_type_id=item_type_id, defaults={"quantity": quantity}
                )
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.CHANGED,
            data={"before": before, "after": _snapshot(reservation, quantities)},
        )
    return reservation


def reservation_cancel(*, reservation, actor):
    """Cancel a confirmed reservation whose pickup day has not passed; its units are free again.

    Raises BookingError("not_cancellable") for any other state. The reservation is kept with
    status cancelled (calendar feeds keep showing it as cancelled).
    """
    today = timezone.localdate()
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if reservation.status != ReservationStatus.CONFIRMED or reservation.pickup_day < today:
            raise BookingError("not_cancellable")
        reservation.status = ReservationStatus.CANCELLED
        reservation.sequence += 1
        reservation.save(update_fields=["status", "sequence", "updated_at"])
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.CANCELLED
        )
    return reservation


def _snapshot(reservation, quantities):
    return {
        "pickup_day": reservation.pickup_day.isoformat(),
        "pickup_slot": reservation.pickup_slot.strftime("%H:%M"),
        "return_day": reservation.return_day.isoformat(),
        "lines": {str(item_type_id): quantity for item_type_id, quantity in sorted(quantities.items())},
    }
