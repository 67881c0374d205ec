"""Writes of the lending domain: reservations, hand-over and take-back at the counter, damage.

Every write that competes for units runs in one transaction that locks, re-checks, then writes:
first the reservation it changes (if any), then the booked item types in id order, then their
location row (pickup slots are counted per location), then waiting-list entries (an offer being
booked, or the line the offer step walks), then units in id order, then damage reports. Two bookings never interleave their check
and their write, and every writer takes its locks in that order, so none can deadlock. On
PostgreSQL the locks are row locks (SELECT … FOR UPDATE); on SQLite the transaction takes the
database write lock when it begins (settings: transaction_mode IMMEDIATE), which serialises
writers the same way.
"""

import dataclasses
import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import QualificationGrant
from catalog.models import LOANABLE_UNIT_STATUSES, ItemType, Location, Unit, UnitStatus
from catalog.selectors import closure_on
from catalog.versions import catalogue_changed
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import (
    DELIVERY_SLOT,
    DamageReport,
    Fulfilment,
    Handover,
    IdempotencyKey,
    RefusedRequest,
    Reservation,
    ReservationEvent,
    ReservationLine,
    ReservationStatus,
    UnitEvent,
)
from lending.scanning import scan_parse
from lending.selectors import colleagues_of, scan_lookup, tour_stops_on
from lending.waitlist_holds import offer_booked, offer_lock_open, open_offers_in_slot
from notifications.services import booking_event_notify, damage_report_notify

logger = logging.getLogger(__name__)

MAX_QUANTITY_PER_LINE = 500


def _offer_freed_units(item_type_ids, *, actor=None, after_commit=False):
    """Offer units a change freed to the people waiting for them (lending.waitlist), in the
    change's transaction after its locks; `after_commit` for a writer that holds unit locks, which
    come after the item types' (then in a transaction of its own once the change is committed)."""
    from lending.waitlist import waitlist_offers_make  # it builds on this module

    item_type_ids = sorted(set(item_type_ids))
    if after_commit:
        transaction.on_commit(lambda: waitlist_offers_make(item_type_ids=item_type_ids, actor=actor), robust=True)
    else:
        waitlist_offers_make(item_type_ids=item_type_ids, actor=actor)


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


# The rules counter staff may set aside for a walk-in booking; each time one is, it is logged.
OVERRIDABLE_RULES = ("too_soon", "slot_full", "delivery_too_soon", "delivery_day_full")


def _check_tour_day(*, location, day):
    if day.isoweekday() not in location.tour_weekdays():
        raise BookingError("not_a_delivery_day", day=day.isoformat())
    closure = closure_on(location=location, day=day)
    if closure is not None:
        raise BookingError("closed", day=day.isoformat(), reason=closure.reason)


def _check_delivery(*, location, item_types, school, pickup_day, return_day, collection_by_tour, today,
                    lead_time_checked, check_delivery_day, check_collection_day, exclude_reservation_id, refuse):
    """The rules of a delivery to the school (besides the item rules every booking passes): every
    item deliverable and the counter delivering, an address, tour days, the delivery notice, and
    room on the tour of each new day. Both days of a delivery are one stop each when the tour
    collects; a school returning to the counter returns on a counter day.

    A change (`exclude_reservation_id` set) checks deliverability only for the item types it adds
    (`item_types` the caller passes are those) and not the counter and address again: what was
    promised stays, as for a pickup."""
    changing = exclude_reservation_id is not None
    if (not changing and not location.delivers) or not all(item_type.deliverable for item_type in item_types):
        raise BookingError("not_deliverable", item_types=sorted(
            item_type.pk for item_type in item_types if not item_type.deliverable))
    if not changing and not school.has_delivery_address:
        raise BookingError("no_delivery_address")
    if check_delivery_day:
        _check_tour_day(location=location, day=pickup_day)
    if check_collection_day:
        if collection_by_tour:
            _check_tour_day(location=location, day=return_day)
        else:
            _check_day_is_open(location=location, day=return_day)
    if lead_time_checked:
        lead_days = (pickup_day - today).days
        if lead_days < 0:
            raise BookingError("delivery_too_soon")
        notice = max([location.delivery_lead_days] + [item_type.min_lead_days for item_type in lead_time_checked])
        if lead_days < notice:
            refuse("delivery_too_soon")
        if lead_days > min(item_type.max_advance_days for item_type in lead_time_checked):
            raise BookingError("too_far_ahead")
    days = ([pickup_day] if check_delivery_day else []) + (
        [return_day] if check_collection_day and collection_by_tour and return_day != pickup_day else [])
    for day in days:
        if tour_stops_on(location=location, day=day,
                         exclude_reservation_id=exclude_reservation_id) >= location.deliveries_per_day:
            refuse("delivery_day_full")


def _check_rules(*, location, item_types, borrower, pickup_day, pickup_slot, return_day, today,
                 checked_item_types=None, lead_time_item_types=None, check_pickup_day=True,
                 check_return_day=True, check_slot=True, exclude_reservation_id=None, exclude_offer_id=None,
                 overrides=(), delivery=None):
    """The booking rules. A change passes only what it changes: `checked_item_types` (default
    all) get the item rules (pause, qualification, loan length), `lead_time_item_types` (default
    all) the lead time and advance limit, and the pickup or return day is checked for being an
    open counter day only when it is new. Rules named in `overrides` (see OVERRIDABLE_RULES) do
    not refuse; returns the codes of those that would have.

    `delivery`, for a delivery to a school, is {"school": …, "collection_by_tour": …}: then the
    days are the tour's and its notice and capacity apply instead of the counter's and the slot's."""
    overridden = []

    def refuse(code):
        if code not in overrides:
            raise BookingError(code)
        overridden.append(code)

    checked = item_types if checked_item_types is None else checked_item_types
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
    lead_time_checked = item_types if lead_time_item_types is None else lead_time_item_types
    if delivery is not None:
        _check_delivery(
            location=location, item_types=delivery.get("new_item_types", item_types), school=delivery["school"],
            pickup_day=pickup_day,
            return_day=return_day, collection_by_tour=delivery["collection_by_tour"], today=today,
            lead_time_checked=lead_time_checked, check_delivery_day=check_pickup_day,
            check_collection_day=check_return_day, exclude_reservation_id=exclude_reservation_id, refuse=refuse,
        )
        if checked and (return_day - pickup_day).days > min(item_type.max_loan_days for item_type in checked):
            raise BookingError("too_long")
        return overridden
    if check_pickup_day:
        _check_day_is_open(location=location, day=pickup_day)
    if check_return_day:
        _check_day_is_open(location=location, day=return_day)
    if check_slot and pickup_slot not in location.slot_times():
        raise BookingError("slot_invalid")
    if lead_time_checked:
        lead_days = (pickup_day - today).days
        if lead_days < 0:
            raise BookingError("too_soon")
        if lead_days < max(item_type.min_lead_days for item_type in lead_time_checked):
            refuse("too_soon")
        if lead_days > min(item_type.max_advance_days for item_type in lead_time_checked):
            raise BookingError("too_far_ahead")
    if checked and (return_day - pickup_day).days > min(item_type.max_loan_days for item_type in checked):
        raise BookingError("too_long")
    if check_slot:
        taken = Reservation.objects.filter(
            location=location, pickup_day=pickup_day, pickup_slot=pickup_slot,
            status=ReservationStatus.CONFIRMED, fulfilment=Fulfilment.PICKUP,
        )
        if exclude_reservation_id is not None:
            taken = taken.exclude(pk=exclude_reservation_id)
        if taken.count() + open_offers_in_slot(location=location, day=pickup_day, slot=pickup_slot,
                                               exclude_offer_id=exclude_offer_id) >= location.slot_capacity:
            refuse("slot_full")
    return overridden


def _check_units(*, item_types, quantities, pickup_day, return_day, today, exclude_reservation_id=None,
                 exclude_offer_id=None, hold_days_before=0, hold_days_after=0):
    """Whether the units are free for the whole hold: from `hold_days_before` days before the
    pickup day through `hold_days_after` days after the return day, plus each turnaround."""
    longest_turnaround = max(item_type.turnaround_days for item_type in item_types)
    # Past days are history, not a promise (bookings of theirs may never have been closed).
    hold_from = max(pickup_day - datetime.timedelta(days=hold_days_before), min(today, pickup_day))
    window_end = return_day + datetime.timedelta(days=longest_turnaround + hold_days_after)
    free = availability(
        item_type_ids=quantities.keys(), first_day=hold_from, last_day=window_end, today=today,
        exclude_reservation_id=exclude_reservation_id, exclude_offer_id=exclude_offer_id,
    )
    for item_type in item_types:
        hold_until = return_day + datetime.timedelta(days=item_type.turnaround_days + hold_days_after)
        if free[item_type.pk].min_free(hold_from, hold_until) < quantities[item_type.pk]:
            raise BookingError("not_enough_units", item_type=item_type.pk)


def reservation_create(*, borrower, school, pickup_day, pickup_slot, return_day, lines, note="", actor=None,
                       overrides=(), waitlist_offer=None, fulfilment=Fulfilment.PICKUP):
    """Book one or more item types for one borrower, from a pickup day and slot to a return day.

    Arguments:
        borrower: the teacher who borrows; school: one of the borrower's schools.
        pickup_day, pickup_slot, return_day: counter days and a slot start time of the location.
        lines: {item_type or id: quantity}; all item types must belong to one location.
        note: free text from the borrower; actor: who books (defaults to the borrower).
        overrides: rules counter staff set aside for this booking (OVERRIDABLE_RULES: the lead
            time and the slot capacity); each one that would have refused is logged as an
            override event with the staff member.
        waitlist_offer: the waiting-list entry whose open offer this booking takes (see
            lending.waitlist.waitlist_offer_book): its held units count as free for it, and it
            becomes booked with the reservation, or the booking is refused with offer_not_open.
        fulfilment: "pickup" at the counter, or "delivery" to the school by the counter's tour:
            then pickup_day is the delivery day, return_day the collection day (or the day the
            school brings the items back, when the tour does not collect), pickup_slot is not
            used, and the units are held from the day the tour packs through the day after it
            collects (Location.tour_packing_days, collection_by_tour; fixed on the booking).

    Raises BookingError with one of: override_not_allowed, fulfilment_invalid, not_a_teacher,
    unknown_school, quantity_invalid, mixed_locations, item_paused, qualification_missing,
    return_before_pickup, not_a_counter_day, closed, slot_invalid, too_soon, too_far_ahead,
    too_long, slot_full, not_enough_units; for a delivery not_deliverable, no_delivery_address,
    not_a_delivery_day, delivery_too_soon, delivery_day_full instead of the counter's day, notice
    and slot codes. Nothing of the booking is written when it raises; not_enough_units is logged
    for the statistics (RefusedRequest, without the person).
    """
    if fulfilment not in Fulfilment.values or (fulfilment == Fulfilment.DELIVERY and waitlist_offer is not None):
        raise BookingError("fulfilment_invalid")
    delivering = fulfilment == Fulfilment.DELIVERY
    if delivering:
        pickup_slot = DELIVERY_SLOT
    overrides = set(overrides)
    if overrides and (actor is None or not actor.is_counter_staff or not overrides <= set(OVERRIDABLE_RULES)):
        raise BookingError("override_not_allowed")
    _check_borrower(borrower=borrower, school=school)
    quantities = _normalise_lines(lines)
    if return_day < pickup_day:
        raise BookingError("return_before_pickup")
    today = timezone.localdate()
    try:
        return _reservation_create(
            borrower=borrower, school=school, pickup_day=pickup_day, pickup_slot=pickup_slot,
            return_day=return_day, quantities=quantities, note=note, actor=actor, overrides=overrides,
            waitlist_offer=waitlist_offer, fulfilment=fulfilment, today=today,
        )
    except BookingError as error:
        if error.code == "not_enough_units":
            try:
                with transaction.atomic():
                    _refusal_record(error, school=school, quantities=quantities, pickup_day=pickup_day,
                                    return_day=return_day, fulfilment=fulfilment)
            except DatabaseError:
                # The statistics lose one refusal; the teacher still gets the booking's answer.
                logger.exception("could not log a refused request")
        raise


def _refusal_record(error, *, school, quantities, pickup_day, return_day, fulfilment):
    """Log a request refused for lack of units for the statistics (RefusedRequest), after the
    booking's transaction rolled back; no person, only what was asked for and the school's type."""
    item_type = ItemType.objects.filter(pk=error.params.get("item_type")).select_related("location").first()
    if item_type is None:
        return
    RefusedRequest.objects.create(
        location=item_type.location, item_type=item_type, quantity=quantities[item_type.pk],
        pickup_day=pickup_day, return_day=return_day, fulfilment=fulfilment, school_type=school.school_type,
    )


def _reservation_create(*, borrower, school, pickup_day, pickup_slot, return_day, quantities, note, actor,
                        overrides, waitlist_offer, fulfilment, today):
    delivering = fulfilment == Fulfilment.DELIVERY
    with transaction.atomic():
        location, item_types = _lock_location_and_item_types(item_type_ids=list(quantities))
        if overrides and not actor.works_at(location):
            raise BookingError("override_not_allowed")
        offer_id = None
        if waitlist_offer is not None:
            waitlist_offer = offer_lock_open(entry=waitlist_offer, borrower=borrower, quantities=quantities,
                                             pickup_day=pickup_day, pickup_slot=pickup_slot, return_day=return_day,
                                             now=timezone.now())
            offer_id = waitlist_offer.pk
        hold = _delivery_hold(location) if delivering else {}
        overridden = _check_rules(
            location=location, item_types=item_types, borrower=borrower, pickup_day=pickup_day,
            pickup_slot=pickup_slot, return_day=return_day, today=today, overrides=overrides,
            exclude_offer_id=offer_id,
            delivery={"school": school, "collection_by_tour": hold["collection_by_tour"]} if delivering else None,
        )
        _check_units(item_types=item_types, quantities=quantities, pickup_day=pickup_day,
                     return_day=return_day, today=today, exclude_offer_id=offer_id,
                     hold_days_before=hold.get("hold_days_before", 0), hold_days_after=hold.get("hold_days_after", 0))
        reservation = Reservation(
            borrower=borrower, school=school, location=location, pickup_day=pickup_day,
            pickup_slot=pickup_slot, return_day=return_day, note=note, fulfilment=fulfilment, **hold,
        )
        reservation.full_clean()
        reservation.save()
        ReservationLine.objects.bulk_create(
            ReservationLine(reservation=reservation, item_type_id=item_type_id, quantity=quantity)
            for item_type_id, quantity in sorted(quantities.items())
        )
        booking_event_notify(ReservationEvent.objects.create(
            reservation=reservation, actor=actor or borrower, action=ReservationEvent.Action.CREATED,
            data=_snapshot(reservation, quantities),
        ))
        for rule in overridden:
            ReservationEvent.objects.create(
                reservation=reservation, actor=actor, action=ReservationEvent.Action.OVERRIDE, data={"rule": rule}
            )
        if waitlist_offer is not None:
            offer_booked(entry=waitlist_offer, reservation=reservation, actor=actor or borrower)
        catalogue_changed(location_ids=[location.pk])
    logger.info("reservation %s created by %s (overridden: %s)", reservation.code, (actor or borrower).pk,
                ", ".join(overridden) or "nothing")
    return reservation


def _delivery_hold(location):
    """What a new delivery of `location` fixes on its booking: the hold around its days."""
    return {
        "hold_days_before": location.tour_packing_days,
        "hold_days_after": 1 if location.collection_by_tour else 0,
        "collection_by_tour": location.collection_by_tour,
    }


def _delivery_rules(reservation, *, new_item_types):
    return ({"school": reservation.school, "collection_by_tour": reservation.collection_by_tour,
             "new_item_types": new_item_types} if reservation.is_delivery else None)


def _hold_days(reservation):
    return {"hold_days_before": reservation.hold_days_before, "hold_days_after": reservation.hold_days_after}


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
        _check_may_modify(reservation, actor)
        if (reservation.status != ReservationStatus.CONFIRMED or reservation.pickup_day < today
                or _has_units_out(reservation)):
            raise BookingError("not_changeable")
        current_lines = {line.item_type_id: line.quantity for line in reservation.lines.all()}
        quantities = current_lines if new_quantities is None else new_quantities
        # The item types it leaves too: the offer step below may hand their units to the waiting
        # list, and every item type must be locked before the location.
        location, item_types = _lock_location_and_item_types(
            item_type_ids=sorted(set(quantities) | set(current_lines)), location_id=reservation.location_id
        )
        item_types = [item_type for item_type in item_types if item_type.pk in quantities]
        new_pickup_day = pickup_day or reservation.pickup_day
        # A delivery has no slot: its days are the tour's.
        new_slot = reservation.pickup_slot if reservation.is_delivery else pickup_slot or reservation.pickup_slot
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
            delivery=_delivery_rules(reservation, new_item_types=[
                item_type for item_type in item_types if item_type.pk not in current_lines]),
        )
        _check_units(item_types=item_types, quantities=quantities, pickup_day=new_pickup_day,
                     return_day=new_return_day, today=today, exclude_reservation_id=reservation.pk,
                     **_hold_days(reservation))
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
        booking_event_notify(ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.CHANGED,
            data={"before": before, "after": _snapshot(reservation, quantities)},
        ))
        _offer_freed_units(current_lines, actor=actor)
        catalogue_changed(location_ids=[location.pk])
    return reservation


CANCEL_REASON_MAX_LENGTH = 500


def reservation_cancel(*, reservation, actor, reason="", offer_freed=True):
    """Cancel a confirmed reservation whose pickup day has not passed; its units are free again.

    Staff cancelling someone else's booking say why (`reason`, kept in the event log and told to
    the borrower in the cancellation mail); the borrower need not. The freed units are offered to
    the waiting list in the same transaction, unless `offer_freed` is False (a caller cancelling
    several bookings in one transaction offers them itself once it is committed).

    Raises BookingError("not_cancellable") for any other state, and once the counter has assigned
    a unit to it (a hand-over in progress): the unit is in the borrower's hands or on the desk;
    BookingError("cancel_reason_required") when staff give no reason or one that is too long. The
    reservation is kept with status cancelled (calendar feeds keep showing it as cancelled).
    """
    today = timezone.localdate()
    reason = (reason or "").strip()
    with transaction.atomic():
        # The same lock the hand-over takes first: a cancel and a scan at the counter queue here,
        # so either the cancel sees the assigned unit, or the scan sees the cancelled booking.
        reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
        _check_may_modify(reservation, actor)
        if (reservation.status != ReservationStatus.CONFIRMED or reservation.pickup_day < today
                or _has_units_out(reservation)):
            raise BookingError("not_cancellable")
        if len(reason) > CANCEL_REASON_MAX_LENGTH or (
                not reason and actor is not None and actor.pk != reservation.borrower_id):
            raise BookingError("cancel_reason_required")
        reservation.status = ReservationStatus.CANCELLED
        reservation.sequence += 1
        reservation.save(update_fields=["status", "sequence", "updated_at"])
        booking_event_notify(ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.CANCELLED,
            data={"reason": reason} if reason else {},
        ))
        if offer_freed:
            _offer_freed_units(reservation.lines.values_list("item_type_id", flat=True), actor=actor)
        catalogue_changed(location_ids=[reservation.location_id])
    return reservation


def reservation_extend(*, reservation, actor, return_day):
    """Move the return day of a confirmed or handed-out booking later, when units allow.

    The new return day must be an open counter day within the item types' longest loan counted
    from the pickup day, and every booked unit must stay free from today (or the pickup day, if
    later) through the new return day plus the turnaround buffer, not counting this booking.

    A delivery the tour collects moves its collection to the new day, which must be a tour day
    with room for the stop (not_a_delivery_day, delivery_day_full); once collected it is not
    extended.

    Raises BookingError with one of: not_extendable (another state, not a later day, or a day
    already past), not_a_counter_day, closed, too_long, not_enough_units. Nothing is written when
    it raises.
    """
    today = timezone.localdate()
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
        _check_may_modify(reservation, actor)
        # A day already past (an overdue loan "extended" to last week) would leave it overdue,
        # and the unit check's window would end before it starts.
        if (reservation.status not in HANDOVERABLE_STATUSES or return_day <= reservation.return_day
                or return_day < today):
            raise BookingError("not_extendable")
        quantities = {line.item_type_id: line.quantity for line in reservation.lines.all()}
        location, item_types = _lock_location_and_item_types(
            item_type_ids=sorted(quantities), location_id=reservation.location_id
        )
        if reservation.is_delivery and reservation.collection_by_tour:
            if reservation.collected_at is not None:
                raise BookingError("not_extendable")
            # The tour comes for it on the new day instead: a tour day with room for the stop.
            _check_tour_day(location=location, day=return_day)
            if tour_stops_on(location=location, day=return_day,
                             exclude_reservation_id=reservation.pk) >= location.deliveries_per_day:
                raise BookingError("delivery_day_full")
        else:
            _check_day_is_open(location=location, day=return_day)
        if (return_day - reservation.pickup_day).days > min(item_type.max_loan_days for item_type in item_types):
            raise BookingError("too_long")
        _check_units(item_types=item_types, quantities=quantities, pickup_day=max(reservation.pickup_day, today),
                     return_day=return_day, today=today, exclude_reservation_id=reservation.pk,
                     hold_days_after=reservation.hold_days_after)
        before = reservation.return_day
        reservation.return_day = return_day
        reservation.sequence += 1
        reservation.save(update_fields=["return_day", "sequence", "updated_at"])
        booking_event_notify(ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.EXTENDED,
            data={"from": before.isoformat(), "to": return_day.isoformat()},
        ))
        catalogue_changed(location_ids=[location.pk])
    return reservation


def _has_units_out(reservation):
    return Handover.objects.filter(reservation=reservation, returned_at__isnull=True).exists()


def _snapshot(reservation, quantities):
    return {
        "pickup_day": reservation.pickup_day.isoformat(),
        "pickup_slot": reservation.pickup_slot.strftime("%H:%M"),
        "return_day": reservation.return_day.isoformat(),
        "lines": {str(item_type_id): quantity for item_type_id, quantity in sorted(quantities.items())},
    }


# Counter: hand-over, take-back, no-shows ---------------------------------------------------------
#
# A booking is handed out unit by unit: each scanned unit gets an open Handover row, and
# confirming the hand-over turns the booking to handed_out. Partial hand-over is allowed: a
# booking may go out with fewer units than booked (one robot is broken, the teacher needs fewer)
# and the missing units can still be scanned in later while it is handed out. The availability
# engine does not look at hand-overs: a booking holds its booked quantity from pickup day to
# return day (or to today while it is overdue) however many units actually went out or came back
# early. That is conservative and keeps the engine one simple rule.

HANDOVERABLE_STATUSES = (ReservationStatus.CONFIRMED, ReservationStatus.HANDED_OUT)


def reservation_name_colleague(*, reservation, actor, colleague):
    """Name the colleague who may pick up and return a booking for its borrower, or with
    `colleague=None` name nobody again.

    The colleague is another active teacher of the booking's school (selectors.colleagues_of).
    The borrower or counter staff name them while the booking is confirmed or on loan. The
    colleague sees the booking (My bookings, their calendar feed, the API) and is told by mail;
    they cannot change, cancel or extend it. Qualifications are still checked on the borrower;
    the counter page shows whether the person at the desk holds them.

    Raises BookingError: colleague_not_allowed (another state, or the actor is neither the borrower
    nor staff), colleague_invalid. Nothing is written when it raises; naming the one already named
    writes nothing either.
    """
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        if reservation.status not in HANDOVERABLE_STATUSES or (
                actor.pk != reservation.borrower_id and not actor.is_counter_staff):
            raise BookingError("colleague_not_allowed")
        if colleague is not None and not colleagues_of(reservation).filter(pk=colleague.pk).exists():
            raise BookingError("colleague_invalid")
        if reservation.colleague_id == (colleague.pk if colleague is not None else None):
            return reservation
        reservation.colleague = colleague
        # updated_at moves, so calendar feeds (the colleague's gains the booking) are sent afresh.
        reservation.save(update_fields=["colleague", "updated_at"])
        booking_event_notify(ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.COLLEAGUE,
            data={"named": colleague is not None},
        ))
    return reservation


@dataclasses.dataclass(frozen=True)
class ScanOutcome:
    """What a scan at the counter found and what the counter does next (`step`):

    - "hand_over": a booking; its hand-over page opens.
    - "assign": a unit scanned while a booking is at the desk; it joins that booking.
    - "take_back": a unit out on a handed-out booking; its take-back opens, also from the page of
      another booking that is already handed out (a returning teacher does not wait for the
      clerk to leave the last booking), but not in the middle of another booking's hand-over.
    - "show_unit": any other unit: where it is and its history.
    """

    step: str
    reservation: Reservation | None = None
    unit: Unit | None = None


def counter_scan(*, actor, location, raw, hosts=(), at_desk=None):
    """Resolve what the scan field received at `location`'s counter, decide the next step (see
    ScanOutcome) and log the scan in the booking's or the unit's events, with who and where.

    `at_desk` is the booking whose page the scan came from, if any. A unit it makes the counter
    assign is logged by `handover_assign_unit` instead (a refused one leaves no trace).

    Raises BookingError with one of: scan_empty, scan_too_long, scan_malformed, scan_foreign_url,
    scan_unknown, scan_other_location. Nothing is written when it raises.
    """
    kind, value = scan_parse(raw, hosts=hosts)
    found = scan_lookup(kind=kind, value=value)
    where = {"location": location.slug}
    if isinstance(found, Reservation):
        if found.location_id != location.pk:
            raise BookingError("scan_other_location")
        ReservationEvent.objects.create(reservation=found, actor=actor, action=ReservationEvent.Action.SCANNED,
                                        data=where)
        return ScanOutcome(step="hand_over", reservation=found)
    unit = found
    if unit.item_type.location_id != location.pk:
        raise BookingError("scan_other_location")
    open_handover = Handover.objects.filter(unit=unit, returned_at__isnull=True).select_related("reservation").first()
    handing_out = at_desk is not None and at_desk.status == ReservationStatus.CONFIRMED
    out_elsewhere = open_handover is not None and open_handover.reservation.status == ReservationStatus.HANDED_OUT
    if out_elsewhere and not (handing_out and open_handover.reservation_id != at_desk.pk):
        outcome = ScanOutcome(step="take_back", reservation=open_handover.reservation, unit=unit)
    elif at_desk is not None:
        # During a hand-over a unit that is with someone else is refused (unit_on_loan), not
        # taken back: the clerk is filling this booking and must notice the wrong label.
        return ScanOutcome(step="assign", reservation=at_desk, unit=unit)
    else:
        outcome = ScanOutcome(step="show_unit", unit=unit)
    UnitEvent.objects.create(unit=unit, actor=actor, action=UnitEvent.Action.SCANNED, data=where)
    return outcome


def _lock_reservation(reservation):
    return Reservation.objects.select_for_update().get(pk=reservation.pk)


def may_modify(reservation, user):
    """Whether `user` may change, cancel or extend the booking: its borrower and counter staff, not
    the colleague named to pick it up, who sees it all the same. Pages ask it to show the buttons."""
    return user is None or user.pk == reservation.borrower_id or user.is_counter_staff


def _check_may_modify(reservation, actor):
    if not may_modify(reservation, actor):
        raise BookingError("not_the_borrower")


def _lock_unit(unit):
    # Locks the unit row alone (no select_related): joined rows would be locked too, out of order.
    return Unit.objects.select_for_update().get(pk=unit.pk)


def _open_handover(unit_id):
    return Handover.objects.filter(unit_id=unit_id, returned_at__isnull=True).first()


def _set_unit_status(*, unit, status, actor, reason):
    if unit.status == status:
        return
    UnitEvent.objects.create(
        unit=unit, actor=actor, action=UnitEvent.Action.STATUS_CHANGED,
        data={"from": unit.status, "to": status, "reason": reason},
    )
    unit.status = status
    unit.save(update_fields=["status"])


def handover_assign_unit(*, reservation, unit, actor):
    """Assign a scanned unit to a booking at the counter (the unit leaves the shelf).

    The booking must be confirmed, or already handed out with units still missing; its pickup
    day must have come and its return day not passed. Locks the reservation, then the unit.

    Raises BookingError with one of: not_handoverable (cancelled, returned, not picked up, or the
    return day has passed), not_pickup_day_yet, wrong_item_type (not an item type of the booking),
    unit_already_assigned (scanned twice into this booking), unit_on_loan (open hand-over in
    another booking; also what the database constraint says if two counters race past the
    check), unit_not_available (maintenance, lost or retired), quantity_reached (as many units of
    that item type out as booked). Nothing is written when it raises.

    Returns the new Handover.
    """
    today = timezone.localdate()
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        if reservation.status not in HANDOVERABLE_STATUSES or reservation.return_day < today:
            raise BookingError("not_handoverable")
        if reservation.hold_first_day() > today:
            # Before its pickup day the engine does not count the booking as holding its units,
            # so a unit handed out early could be promised to someone else for those days. A
            # delivery holds from the day the tour packs it.
            raise BookingError("not_pickup_day_yet")
        booked = {line.item_type_id: line.quantity for line in reservation.lines.all()}
        unit = _lock_unit(unit)
        if unit.item_type_id not in booked:
            raise BookingError("wrong_item_type", item_type=unit.item_type_id)
        open_handover = _open_handover(unit.pk)
        if open_handover is not None:
            if open_handover.reservation_id == reservation.pk:
                raise BookingError("unit_already_assigned")
            raise BookingError("unit_on_loan")
        if unit.status not in LOANABLE_UNIT_STATUSES:
            raise BookingError("unit_not_available", status=unit.status)
        out = Handover.objects.filter(
            reservation=reservation, unit__item_type_id=unit.item_type_id, returned_at__isnull=True
        ).count()
        if out >= booked[unit.item_type_id]:
            raise BookingError("quantity_reached", item_type=unit.item_type_id)
        try:
            # The partial unique index is the last word on "one open hand-over per unit"; the
            # savepoint keeps the outer transaction usable to raise a clean refusal.
            with transaction.atomic():
                handover = Handover.objects.create(reservation=reservation, unit=unit, handed_out_by=actor)
        except IntegrityError:
            raise BookingError("unit_on_loan") from None
        UnitEvent.objects.create(
            unit=unit, actor=actor, action=UnitEvent.Action.HANDED_OUT,
            data={"reservation": reservation.code, "handover": handover.pk},
        )
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.UNIT_ASSIGNED,
            data={"unit": unit.asset_tag, "item_type": unit.item_type_id},
        )
    logger.info("unit %s assigned to reservation %s", unit.asset_tag, reservation.code)
    return handover


COLLECTORS = ("borrower", "colleague")


def handover_complete(*, reservation, actor, collected_by="borrower"):
    """Confirm the hand-over of a confirmed booking: it becomes handed out.

    At least one unit must be assigned; fewer than booked is allowed (partly handed out) and the
    event records which units went out, whether that was all that was booked, and who came for
    them (`collected_by`: "borrower", or "colleague" when the borrower named one).

    A delivery is packed instead (see `delivery_pack`): the loan starts only at the school.

    Raises BookingError with one of: not_handoverable (not confirmed), nothing_handed_out,
    collector_invalid. Nothing is written when it raises.
    """
    if reservation.is_delivery:
        return delivery_pack(reservation=reservation, actor=actor)
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        if reservation.status != ReservationStatus.CONFIRMED:
            raise BookingError("not_handoverable")
        if collected_by not in COLLECTORS or (collected_by == "colleague" and reservation.colleague_id is None):
            raise BookingError("collector_invalid")
        handovers = list(
            Handover.objects.filter(reservation=reservation, returned_at__isnull=True).select_related("unit")
        )
        if not handovers:
            raise BookingError("nothing_handed_out")
        booked_units = sum(line.quantity for line in reservation.lines.all())
        reservation.status = ReservationStatus.HANDED_OUT
        reservation.save(update_fields=["status", "updated_at"])
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.HANDED_OUT,
            data={
                "units": sorted(handover.unit.asset_tag for handover in handovers),
                "complete": len(handovers) >= booked_units,
                "collected_by": collected_by,
            },
        )
        # Handed out, the booking holds its units past its return day until they are back.
        catalogue_changed(location_ids=[reservation.location_id])
    return reservation


# Delivery to schools -------------------------------------------------------------------------------
#
# A delivery goes out with the counter's tour: staff pack it by scanning its units at the counter
# as for a hand-over (the units leave the shelf, Handover rows), `delivery_pack` records that it
# is packed, and the booking stays confirmed: the loan starts when the driver confirms it at the
# school (`delivery_confirm`, with who received it). At the end the tour collects it
# (`collection_confirm`, with the units it brought back) and the units are taken back at the
# counter as any loan (`takeback_unit`: condition, damage).

RECIPIENT_MAX_LENGTH = 120


def delivery_pack(*, reservation, actor):
    """Record that a delivery is packed for the tour: at least one unit scanned into it.

    Packing again after more units were scanned records it again. Raises BookingError:
    not_a_delivery, not_handoverable (not confirmed), nothing_handed_out. Nothing is written when
    it raises.
    """
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        if not reservation.is_delivery:
            raise BookingError("not_a_delivery")
        if reservation.status != ReservationStatus.CONFIRMED:
            raise BookingError("not_handoverable")
        tags = sorted(Handover.objects.filter(reservation=reservation, returned_at__isnull=True)
                      .values_list("unit__asset_tag", flat=True))
        if not tags:
            raise BookingError("nothing_handed_out")
        booked_units = sum(line.quantity for line in reservation.lines.all())
        reservation.packed_at = timezone.now()
        reservation.save(update_fields=["packed_at", "updated_at"])
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.PACKED,
            data={"units": tags, "complete": len(tags) >= booked_units},
        )
    return reservation


def delivery_confirm(*, reservation, actor, recipient):
    """The driver confirms a packed delivery at the school (*Zugestellt*): the loan starts.

    `recipient` is the name of who took it (the school office, the caretaker). The booking
    becomes handed out and its units' hand-overs start now; units scanned in count as packed even
    if "packed" was not confirmed. Raises BookingError: not_a_delivery, recipient_required,
    not_deliverable_now (not confirmed), delivery_not_packed (no unit scanned in). Nothing is
    written when it raises.
    """
    recipient = " ".join((recipient or "").split())
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        if not reservation.is_delivery:
            raise BookingError("not_a_delivery")
        if not recipient or len(recipient) > RECIPIENT_MAX_LENGTH:
            raise BookingError("recipient_required")
        handovers = Handover.objects.filter(reservation=reservation, returned_at__isnull=True)
        if reservation.status != ReservationStatus.CONFIRMED:
            raise BookingError("not_deliverable_now")
        tags = sorted(handovers.values_list("unit__asset_tag", flat=True))
        if not tags:
            raise BookingError("delivery_not_packed")
        now = timezone.now()
        handovers.update(handed_out_at=now)
        reservation.status = ReservationStatus.HANDED_OUT
        # Units scanned in without "packed" pressed went on the tour all the same.
        reservation.packed_at = reservation.packed_at or now
        reservation.delivered_at = now
        reservation.delivered_to = recipient
        reservation.save(update_fields=["status", "packed_at", "delivered_at", "delivered_to", "updated_at"])
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.DELIVERED,
            data={"recipient": recipient, "units": tags},
        )
        catalogue_changed(location_ids=[reservation.location_id])
    return reservation


def collection_confirm(*, reservation, actor, unit_ids):
    """The driver confirms the collection at the school (*Abgeholt*) with the units brought back
    (scanned or ticked); any not among them are logged as missing. The units are then taken back
    at the counter (`takeback_unit`), which returns the booking.

    Raises BookingError: not_a_delivery, collection_not_allowed (not delivered, already collected,
    or the school brings it back itself), collection_units_invalid (none, or one not out on this
    booking). Nothing is written when it raises.
    """
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        if not reservation.is_delivery:
            raise BookingError("not_a_delivery")
        if (reservation.status != ReservationStatus.HANDED_OUT or not reservation.collection_by_tour
                or reservation.collected_at is not None):
            raise BookingError("collection_not_allowed")
        out = dict(Handover.objects.filter(reservation=reservation, returned_at__isnull=True)
                   .values_list("unit_id", "unit__asset_tag"))
        try:
            chosen = {int(unit_id) for unit_id in unit_ids}
        except (TypeError, ValueError):
            raise BookingError("collection_units_invalid") from None
        if not chosen or not chosen <= set(out):
            raise BookingError("collection_units_invalid")
        reservation.collected_at = timezone.now()
        reservation.save(update_fields=["collected_at", "updated_at"])
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.COLLECTED,
            data={"units": sorted(out[unit_id] for unit_id in chosen),
                  "missing": sorted(tag for unit_id, tag in out.items() if unit_id not in chosen)},
        )
    return reservation


def takeback_unit(*, unit, actor, condition, note="", handover_id=None):
    """Take a unit back at the counter, whenever it comes, with its condition.

    Closes the unit's open hand-over (late when today is after the booking's return day). Any
    condition but complete sends the unit to maintenance (lost: to lost) and opens a damage report
    from the counter, unless the borrower already reported this loan's unit online. When the last
    unit of a handed-out booking is back, the booking is returned. Taking back a unit of a booking
    whose hand-over was not confirmed yet undoes the scan (the Handover row is deleted, the events
    stay); the booking stays confirmed.
    Locks the reservation, then the unit's item type (its loanable count may drop), then the unit.

    `handover_id`, when given, is the loan the clerk was shown: if the unit was taken back and
    lent again meanwhile, the take-back is refused rather than closing the new loan.

    Raises BookingError with one of: condition_invalid, unit_not_on_loan. Nothing is written when
    it raises. Returns the closed Handover.
    """
    if condition not in Handover.Condition.values:
        raise BookingError("condition_invalid")
    today = timezone.localdate()
    with transaction.atomic():
        found = _open_handover(unit.pk)
        if found is None:
            raise BookingError("unit_not_on_loan")
        reservation = Reservation.objects.select_for_update().get(pk=found.reservation_id)
        ItemType.objects.select_for_update().filter(pk=unit.item_type_id).first()
        unit = _lock_unit(unit)
        # Re-read under the locks: another counter may have taken the unit back meanwhile.
        handover = _open_handover(unit.pk)
        if handover is None or handover.reservation_id != reservation.pk or handover_id not in (None, handover.pk):
            raise BookingError("unit_not_on_loan")
        handover.returned_at = timezone.now()
        handover.returned_by = actor
        handover.return_condition = condition
        handover.return_note = note
        # A delivery the tour collected came back when it was collected, not when it is unloaded.
        back_on = timezone.localdate(reservation.collected_at) if reservation.collected_at else today
        handover.returned_late = back_on > reservation.return_day
        # Before the hand-over is confirmed the unit never left the desk: the scan is undone
        # (the events keep it), so the booking's counter state counts only real returns.
        undone = reservation.status == ReservationStatus.CONFIRMED
        if undone:
            handover.delete()
            handover.pk = None
        else:
            handover.save()
        UnitEvent.objects.create(
            unit=unit, actor=actor, action=UnitEvent.Action.RETURNED,
            data={"reservation": reservation.code, "condition": condition, "late": handover.returned_late,
                  "note": note, "undone": undone},
        )
        ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.UNIT_RETURNED,
            data={"unit": unit.asset_tag, "condition": condition, "late": handover.returned_late, "undone": undone},
        )
        if condition != Handover.Condition.COMPLETE:
            lost = condition == Handover.Condition.LOST
            _set_unit_status(
                unit=unit, status=UnitStatus.LOST if lost else UnitStatus.MAINTENANCE, actor=actor,
                reason=condition,
            )
            already_reported = not undone and DamageReport.objects.filter(
                handover=handover, status=DamageReport.Status.OPEN
            ).exists()
            whole_loan_report = None if undone or already_reported else DamageReport.objects.filter(
                reservation=reservation, unit__isnull=True, status=DamageReport.Status.OPEN
            ).first()
            if whole_loan_report is not None:
                # The teacher reported the loan as a whole; this is the unit it was about. One
                # incident stays one case in the statistics.
                whole_loan_report.unit, whole_loan_report.handover = unit, handover
                whole_loan_report.save(update_fields=["unit", "handover"])
                UnitEvent.objects.create(
                    unit=unit, actor=actor, action=UnitEvent.Action.DAMAGE_REPORTED,
                    data={"report": whole_loan_report.pk, "kind": whole_loan_report.kind, "condition": condition},
                )
            elif not already_reported:
                report = DamageReport.objects.create(
                    unit=unit, reservation=reservation, handover=None if undone else handover,
                    kind=DamageReport.Kind.LOSS if lost else DamageReport.Kind.DAMAGE,
                    description=note, reported_by=actor, source=DamageReport.Source.COUNTER,
                )
                damage_report_notify(report, settled=False)
                UnitEvent.objects.create(
                    unit=unit, actor=actor, action=UnitEvent.Action.DAMAGE_REPORTED,
                    data={"report": report.pk, "kind": report.kind, "condition": condition},
                )
        if reservation.status == ReservationStatus.HANDED_OUT and not _has_units_out(reservation):
            reservation.status = ReservationStatus.RETURNED
            reservation.save(update_fields=["status", "updated_at"])
            booking_event_notify(ReservationEvent.objects.create(
                reservation=reservation, actor=actor, action=ReservationEvent.Action.RETURNED,
                data={"late": reservation.handovers.filter(returned_late=True).exists()},
            ))
            # Back early its last days are free; back late, the days from today on that it held.
            _offer_freed_units(reservation.lines.values_list("item_type_id", flat=True), actor=actor,
                               after_commit=True)
        catalogue_changed(location_ids=[reservation.location_id])
    return handover


def reservation_mark_no_show(*, reservation, actor):
    """Mark a booking as not picked up: confirmed, its pickup day has come, nothing handed out.

    Its units are free again at once (the engine counts only confirmed and handed-out bookings);
    the sequence goes up so calendar feeds drop the booking.

    Raises BookingError("no_show_not_allowed") otherwise. Nothing is written when it raises.
    """
    today = timezone.localdate()
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        if (reservation.status != ReservationStatus.CONFIRMED or reservation.pickup_day > today
                or _has_units_out(reservation)):
            raise BookingError("no_show_not_allowed")
        reservation.status = ReservationStatus.NO_SHOW
        reservation.sequence += 1
        reservation.save(update_fields=["status", "sequence", "updated_at"])
        booking_event_notify(ReservationEvent.objects.create(
            reservation=reservation, actor=actor, action=ReservationEvent.Action.NO_SHOW))
        _offer_freed_units(reservation.lines.values_list("item_type_id", flat=True), actor=actor)
        catalogue_changed(location_ids=[reservation.location_id])
    return reservation


def reservations_mark_no_shows(*, day, actor=None, location=None):
    """Mark every booking not picked up by the end of `day` (for `close_counter_day`).

    Candidates are confirmed pickups (not deliveries) with a pickup day on or before `day` (never
    after today) and no unit out; a booking with an unconfirmed hand-over in progress is left for staff. Each
    is marked in its own transaction through `reservation_mark_no_show`, so one that changed
    meanwhile (handed out at the last minute) is skipped, not failed. Returns the marked ones.
    """
    last_pickup_day = min(day, timezone.localdate())
    # A delivery not delivered is the counter's miss, not the teacher's: staff decide on it.
    candidates = Reservation.objects.filter(
        status=ReservationStatus.CONFIRMED, pickup_day__lte=last_pickup_day, fulfilment=Fulfilment.PICKUP,
    ).exclude(pk__in=Handover.objects.filter(returned_at__isnull=True).values("reservation_id"))
    if location is not None:
        candidates = candidates.filter(location=location)
    marked = []
    for reservation in candidates.order_by("pk"):
        try:
            marked.append(reservation_mark_no_show(reservation=reservation, actor=actor))
        except BookingError:
            continue
    return marked


# Damage and loss ----------------------------------------------------------------------------------


def damage_report_create(*, reporter, reservation, unit_or_none, kind, description):
    """Report damage, theft or loss of a loan online.

    Teachers report for their own bookings that are handed out; staff of the booking's counter
    may record a report for it (a phone call). With a unit, it must be out on this booking; without
    one, the report concerns the loan as a whole. The unit's status stays as it is until it is
    taken back (or taken back as lost).

    Raises BookingError with one of: report_invalid (unknown kind, empty description),
    not_your_loan, already_reported (an open report of the same unit, or of the whole loan).
    Nothing is written when it raises. Returns the DamageReport.
    """
    if kind not in DamageReport.Kind.values or not (description or "").strip():
        raise BookingError("report_invalid")
    if reporter is None or not reporter.is_active:
        raise BookingError("not_your_loan")
    with transaction.atomic():
        reservation = _lock_reservation(reservation)
        is_borrower = reservation.borrower_id == reporter.pk
        staff = reporter.is_counter_staff and reporter.works_at(reservation.location)
        if not (is_borrower or staff) or reservation.status != ReservationStatus.HANDED_OUT:
            raise BookingError("not_your_loan")
        handover = None
        if unit_or_none is not None:
            handover = Handover.objects.filter(
                reservation=reservation, unit_id=unit_or_none.pk, returned_at__isnull=True
            ).select_related("unit").first()
            if handover is None:
                raise BookingError("not_your_loan")
        # One incident, one report: a second report of the same unit (or of the whole loan) while
        # the first is open would count twice in the statistics.
        if DamageReport.objects.filter(
            reservation=reservation, handover=handover, status=DamageReport.Status.OPEN,
            **({} if handover else {"unit__isnull": True}),
        ).exists():
            raise BookingError("already_reported")
        report = DamageReport.objects.create(
            unit=handover.unit if handover else None, reservation=reservation, handover=handover, kind=kind,
            description=description.strip(), reported_by=reporter,
            source=DamageReport.Source.TEACHER if is_borrower else DamageReport.Source.COUNTER,
        )
        damage_report_notify(report, settled=False)
        ReservationEvent.objects.create(
            reservation=reservation, actor=reporter, action=ReservationEvent.Action.DAMAGE_REPORTED,
            data={"report": report.pk, "kind": kind, "unit": handover.unit.asset_tag if handover else None},
        )
        if handover is not None:
            UnitEvent.objects.create(
                unit=handover.unit, actor=reporter, action=UnitEvent.Action.DAMAGE_REPORTED,
                data={"report": report.pk, "kind": kind, "reservation": reservation.code},
            )
    return report


COMPENSATION_LIMIT = Decimal("999999.99")  # what the column (8 digits, 2 decimals) holds


def _compensation(amount):
    if amount is None:
        return None
    try:
        amount = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
        if not amount.is_finite() or amount < 0 or amount > COMPENSATION_LIMIT:
            raise BookingError("resolution_invalid")
        return amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise BookingError("resolution_invalid") from None


def damage_report_settle(*, report, actor, resolution, compensation_amount=None):
    """Settle a damage report: repaired, replaced or written off, with a compensation amount
    where the borrower is liable.

    The unit follows the resolution: repaired or replaced (the replacement carries the label on)
    it is available again; written off it is retired (a lost unit stays lost). The unit must be
    back first: a unit lost or stolen on loan is taken back as lost. Locks the unit's item type,
    then the unit, then the report.

    Raises BookingError with one of: resolution_invalid (unknown resolution, negative or
    oversized amount), report_settled, unit_on_loan. Nothing is written when it raises.
    """
    if resolution not in DamageReport.Resolution.values:
        raise BookingError("resolution_invalid")
    amount = _compensation(compensation_amount)
    with transaction.atomic():
        unit = None
        if report.unit_id is not None:  # never changes once written, so safe to read unlocked
            unit_row = Unit.objects.only("item_type_id").get(pk=report.unit_id)
            item_type = ItemType.objects.select_for_update().filter(pk=unit_row.item_type_id).first()
            unit = _lock_unit(unit_row)
        report = DamageReport.objects.select_for_update().get(pk=report.pk)
        if report.status != DamageReport.Status.OPEN:
            raise BookingError("report_settled")
        if unit is not None:
            if _open_handover(unit.pk) is not None:
                raise BookingError("unit_on_loan")
            if resolution == DamageReport.Resolution.WRITE_OFF:
                if unit.status != UnitStatus.LOST:
                    _set_unit_status(unit=unit, status=UnitStatus.RETIRED, actor=actor, reason=resolution)
            elif unit.status in (UnitStatus.MAINTENANCE, UnitStatus.LOST):
                _set_unit_status(unit=unit, status=UnitStatus.AVAILABLE, actor=actor, reason=resolution)
            UnitEvent.objects.create(
                unit=unit, actor=actor, action=UnitEvent.Action.DAMAGE_SETTLED,
                data={"report": report.pk, "resolution": resolution,
                      "compensation_amount": str(amount) if amount is not None else None},
            )
        report.status = DamageReport.Status.SETTLED
        report.resolution = resolution
        report.compensation_amount = amount
        report.settled_at = timezone.now()
        report.settled_by = actor
        report.save()
        damage_report_notify(report, settled=True)
        if unit is not None:
            catalogue_changed(location_ids=[item_type.location_id])
    return report


# How long a counter script may retry a request and get the stored answer back.
IDEMPOTENCY_KEY_DAYS = 7


def idempotency_keys_purge(*, now, dry_run=False):
    """Forget the API's stored answers to idempotency keys older than IDEMPOTENCY_KEY_DAYS (a
    retry comes within minutes; after that a key only says who did what). Returns how many."""
    stale = IdempotencyKey.objects.filter(created_at__lt=now - datetime.timedelta(days=IDEMPOTENCY_KEY_DAYS))
    if dry_run:
        return stale.count()
    deleted, _ = stale.delete()
    return deleted
