"""The waiting list (Warteliste): teachers refused for lack of units or a full slot wait in line,
and are offered the units when they become free.

- `waitlist_join` puts a teacher in line for one item type, quantity and days at its counter,
  after the booking rules (everything but the units and the slot's room, which are why she waits).
- `waitlist_offers_make` walks the line of each item type in order whenever units may have become
  free (a cancellation, a change, a no-show, a return, a unit back on the shelf, an offer that ran
  out or was declined) and offers them to the first entries whose request now fits: the entry
  becomes an offer held until `offer_expires_at`, which the availability engine and the slot count
  treat like a booking. It runs in the transaction of the change that freed the units, after its
  locks (item types, then location, then entries: the order of lending/services.py), so a unit is
  never promised twice, neither to two people waiting nor to a new booking.
- `waitlist_offer_book` makes the booking through `reservation_create` with all its rules; the
  offer's own hold counts as free for it.
- Offers not taken in time lapse (the next in line is offered), and entries whose pickup day has
  passed expire: `waitlist_process`, run by `manage.py process_waitlist` every few minutes.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from catalog.models import ItemType
from catalog.versions import catalogue_changed
from lending.availability import availability
from lending.exceptions import BookingError
from lending.models import Fulfilment, Reservation, ReservationStatus, WaitlistEntry, WaitlistEvent
from lending.services import (
    _check_borrower,
    _check_rules,
    _check_units,
    _lock_location_and_item_types,
    _normalise_lines,
    reservation_create,
)
from lending.waitlist_holds import open_offers_in_slot
from notifications.services import waitlist_offer_notify

logger = logging.getLogger(__name__)

S = WaitlistEntry.Status
ACTIVE_STATUSES = (S.WAITING, S.OFFERED)
MOVE_REASON_MAX_LENGTH = 500


def _rank(now):
    return now.timestamp()


def waitlist_join(*, borrower, school, item_type, quantity, pickup_day, pickup_slot, return_day, actor=None):
    """Put `borrower` in line for `quantity` units of `item_type` from `pickup_day` (`pickup_slot`)
    to `return_day`; returns the entry.

    Raises BookingError with every code of `reservation_create` except not_enough_units and
    slot_full, and waitlist_not_needed (the units and the slot are free: book them),
    waitlist_duplicate (already waiting for this item type and these days). Nothing is written
    when it raises."""
    _check_borrower(borrower=borrower, school=school)
    quantities = _normalise_lines({getattr(item_type, "pk", item_type): quantity})
    if return_day < pickup_day:
        raise BookingError("return_before_pickup")
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        location, item_types = _lock_location_and_item_types(item_type_ids=list(quantities))
        _check_rules(location=location, item_types=item_types, borrower=borrower, pickup_day=pickup_day,
                     pickup_slot=pickup_slot, return_day=return_day, today=today, overrides={"slot_full"})
        try:
            _check_units(item_types=item_types, quantities=quantities, pickup_day=pickup_day,
                         return_day=return_day, today=today)
            _check_rules(location=location, item_types=[], borrower=borrower, pickup_day=pickup_day,
                         pickup_slot=pickup_slot, return_day=return_day, today=today, check_pickup_day=False,
                         check_return_day=False)
        except BookingError:
            pass  # refused: that is what the waiting list is for
        else:
            raise BookingError("waitlist_not_needed")
        item_type = item_types[0]
        if WaitlistEntry.objects.filter(borrower=borrower, item_type=item_type, pickup_day=pickup_day,
                                        return_day=return_day, status__in=ACTIVE_STATUSES).exists():
            raise BookingError("waitlist_duplicate")
        entry = WaitlistEntry.objects.create(
            borrower=borrower, school=school, location=location, item_type=item_type,
            quantity=quantities[item_type.pk], pickup_day=pickup_day, pickup_slot=pickup_slot, return_day=return_day,
            rank=_rank(now), joined_at=now,
        )
        WaitlistEvent.objects.create(entry=entry, actor=actor or borrower, action=WaitlistEvent.Action.JOINED)
    logger.info("waiting list entry %s joined by %s", entry.pk, borrower.pk)
    return entry


def offer_expiry(*, entry, item_type, now):
    """Until when an offer made `now` holds: WAITLIST_OFFER_HOURS, but never beyond the last moment
    the booking is still allowed by the item's lead time (the end of the day `min_lead_days`
    before the pickup day). None when that moment has passed."""
    last_day = entry.pickup_day - datetime.timedelta(days=item_type.min_lead_days)
    last_moment = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time(),
                                            tzinfo=timezone.get_current_timezone())
    expires = min(now + datetime.timedelta(hours=settings.WAITLIST_OFFER_HOURS), last_moment)
    return expires if expires > now else None


def waitlist_offers_make(*, item_type_ids, now=None, actor=None):
    """Offer freed units to the people waiting for `item_type_ids`, in line order; returns the
    entries offered. Call it in the transaction that freed the units, after its own locks.

    Lapses the offers of these item types that ran out, expires entries whose pickup day has come,
    then reads every waiting entry of the item types in one query and their availability over
    all their days in two: an entry is offered when its units are free on all its days (the offers
    made before it in this run counted), its slot has room and the booking rules let its teacher
    book it now. The queries do not grow with the length of the line, only with the offers made."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    item_type_ids = sorted(set(item_type_ids))
    if not item_type_ids:
        return []
    offered = []
    with transaction.atomic():
        by_location = {}
        for item_type_id, location_id in ItemType.objects.filter(pk__in=item_type_ids).values_list("pk", "location_id"):
            by_location.setdefault(location_id, []).append(item_type_id)
        for location_item_type_ids in by_location.values():
            offered += _offers_make_at(item_type_ids=location_item_type_ids, now=now, today=today, actor=actor)
    return offered


def _offers_make_at(*, item_type_ids, now, today, actor):
    # Locked before the line is read: a teacher joining meanwhile (who takes the same locks) is
    # either in the line read here, or saw these units free and was told to book them.
    location, item_types = _lock_location_and_item_types(item_type_ids=item_type_ids)
    item_types = {item_type.pk: item_type for item_type in item_types}
    entries = list(WaitlistEntry.objects.select_for_update().filter(
        item_type_id__in=item_type_ids, status__in=ACTIVE_STATUSES).order_by("rank", "pk"))
    waiting, lapsed = [], False
    for entry in entries:
        if entry.status == S.OFFERED and entry.offer_expires_at <= now:
            _end(entry, S.LAPSED, WaitlistEvent.Action.LAPSED, actor=None)
            lapsed = True
        elif entry.status == S.WAITING and entry.pickup_day < today:
            _end(entry, S.EXPIRED, WaitlistEvent.Action.EXPIRED, actor=None)
        elif entry.status == S.WAITING:
            waiting.append(entry)
    offered = _offer_in_line(waiting, location=location, item_types=item_types, now=now, today=today, actor=actor)
    if lapsed or offered:
        catalogue_changed(location_ids=[location.pk])  # what the catalogue and calendars show as free moved
    return offered


def _offer_in_line(waiting, *, location, item_types, now, today, actor):
    if not waiting:
        return []
    window = WaitlistEntry.objects.filter(pk__in=[entry.pk for entry in waiting]).aggregate(
        first=Min("pickup_day"), last=Max("return_day"))
    longest_turnaround = max(item_type.turnaround_days for item_type in item_types.values())
    free = availability(item_type_ids=item_types, first_day=window["first"],
                        last_day=window["last"] + datetime.timedelta(days=longest_turnaround), today=today, now=now)
    offered = []
    for entry in waiting:
        item_type = item_types[entry.item_type_id]
        hold_until = entry.return_day + datetime.timedelta(days=item_type.turnaround_days)
        if free[item_type.pk].min_free(entry.pickup_day, hold_until) < entry.quantity:
            continue
        expires = offer_expiry(entry=entry, item_type=item_type, now=now)
        if expires is None or entry.borrower is None or not _may_book(entry, location, item_type, today, now):
            continue
        entry.status = S.OFFERED
        entry.offered_at = now
        entry.offer_expires_at = expires
        entry.save(update_fields=["status", "offered_at", "offer_expires_at", "updated_at"])
        WaitlistEvent.objects.create(entry=entry, actor=actor, action=WaitlistEvent.Action.OFFERED,
                                     data={"until": expires.isoformat()})
        waitlist_offer_notify(entry)
        # The next in line sees these units as taken, as they will be once this run commits.
        held = free[item_type.pk].held_per_day
        first = (entry.pickup_day - free[item_type.pk].first_day).days
        for offset in range(first, first + (hold_until - entry.pickup_day).days + 1):
            held[offset] += entry.quantity
        offered.append(entry)
    if offered:
        logger.info("waiting list: offered %s", ", ".join(str(entry.pk) for entry in offered))
    return offered


def _may_book(entry, location, item_type, today, now):
    """Whether the booking rules would let the entry's teacher book it now: qualification, lead
    time, counter days and the slot's room (open offers counted); the units were checked."""
    borrower = entry.borrower
    try:
        _check_borrower(borrower=borrower, school=entry.school)
        _check_rules(location=location, item_types=[item_type], borrower=borrower, pickup_day=entry.pickup_day,
                     pickup_slot=entry.pickup_slot, return_day=entry.return_day, today=today, check_slot=False)
    except BookingError:
        return False
    if entry.pickup_slot not in location.slot_times():
        return False
    taken = Reservation.objects.filter(location=location, pickup_day=entry.pickup_day, pickup_slot=entry.pickup_slot,
                                       status=ReservationStatus.CONFIRMED, fulfilment=Fulfilment.PICKUP).count()
    return taken + open_offers_in_slot(location=location, day=entry.pickup_day, slot=entry.pickup_slot,
                                       now=now) < location.slot_capacity


def _end(entry, status, action, *, actor, data=None):
    entry.status = status
    entry.save(update_fields=["status", "updated_at"])
    WaitlistEvent.objects.create(entry=entry, actor=actor, action=action, data=data or {})


def waitlist_offer_book(*, entry, actor):
    """Turn an open offer into a booking through `reservation_create`, with all its rules (the
    offer's own hold counts as free for it); returns the reservation.

    Raises BookingError("offer_not_open") when the offer ran out, was taken or is someone else's,
    and any refusal of `reservation_create`. Nothing is written when it raises."""
    if actor is None or entry.borrower_id != actor.pk:
        raise BookingError("offer_not_open")
    return reservation_create(
        borrower=entry.borrower, school=entry.school, pickup_day=entry.pickup_day, pickup_slot=entry.pickup_slot,
        return_day=entry.return_day, lines={entry.item_type_id: entry.quantity}, actor=actor, waitlist_offer=entry,
    )


def waitlist_leave(*, entry, actor):
    """The teacher leaves the list (or declines her offer); the next in line may be offered."""
    with transaction.atomic():
        _lock_location_and_item_types(item_type_ids=[entry.item_type_id])  # before the entry, as everywhere
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.borrower_id != getattr(actor, "pk", None):
            raise BookingError("not_your_entry")
        _take_off(entry, S.LEFT, WaitlistEvent.Action.LEFT, actor=actor,
                  data={"declined_offer": entry.status == S.OFFERED})
    return entry


def _take_off(entry, status, action, *, actor, data):
    """End an active entry; units its offer held go to the next in line at once."""
    if entry.status not in ACTIVE_STATUSES:
        raise BookingError("entry_not_active")
    was_offered = entry.status == S.OFFERED
    _end(entry, status, action, actor=actor, data=data)
    if was_offered:
        waitlist_offers_make(item_type_ids=[entry.item_type_id], actor=actor)
        catalogue_changed(location_ids=[entry.location_id])  # its held units are free, or offered anew


def _staff_reason(reason):
    reason = (reason or "").strip()
    if not reason or len(reason) > MOVE_REASON_MAX_LENGTH:
        raise BookingError("waitlist_reason_required")
    return reason


def waitlist_move(*, entry, actor, before, reason):
    """Staff move a waiting entry in line to just before `before` (an entry of the same item type),
    or to the end when `before` is None; the reason is logged. Moving ahead may lead to an offer
    at once (when units are free that the entries before it could not use)."""
    reason = _staff_reason(reason)
    with transaction.atomic():
        location, _item_types = _lock_location_and_item_types(item_type_ids=[entry.item_type_id])
        if actor is None or not actor.works_at(location):
            raise BookingError("waitlist_staff_only")
        line = list(WaitlistEntry.objects.select_for_update().filter(
            item_type_id=entry.item_type_id, status__in=ACTIVE_STATUSES).order_by("rank", "pk"))
        entry = next((candidate for candidate in line if candidate.pk == entry.pk), None)
        if entry is None or entry.status != S.WAITING:
            raise BookingError("entry_not_active")
        others = [candidate for candidate in line if candidate.pk != entry.pk]
        if before is None:
            rank = (others[-1].rank + 1) if others else entry.rank
        else:
            index = next((i for i, candidate in enumerate(others) if candidate.pk == before.pk), None)
            if index is None:
                raise BookingError("entry_not_active")
            previous = others[index - 1].rank if index > 0 else others[index].rank - 2
            rank = (previous + others[index].rank) / 2
            if not previous < rank < others[index].rank:  # the gap ran out after many moves: renumber
                for number, other in enumerate(others):
                    WaitlistEntry.objects.filter(pk=other.pk).update(rank=float(number * 2))
                    other.rank = float(number * 2)
                rank = others[index].rank - 1
        before_place = line.index(entry) + 1
        entry.rank = rank
        entry.save(update_fields=["rank", "updated_at"])
        WaitlistEvent.objects.create(entry=entry, actor=actor, action=WaitlistEvent.Action.MOVED,
                                     data={"reason": reason, "from": before_place,
                                           "to": 1 + sum(candidate.rank < rank for candidate in others)})
        waitlist_offers_make(item_type_ids=[entry.item_type_id], actor=actor)
    return entry


def waitlist_remove(*, entry, actor, reason):
    """Staff take an entry off the list (an offer too), with a logged reason."""
    reason = _staff_reason(reason)
    with transaction.atomic():
        location, _item_types = _lock_location_and_item_types(item_type_ids=[entry.item_type_id])
        if actor is None or not actor.works_at(location):
            raise BookingError("waitlist_staff_only")
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        _take_off(entry, S.REMOVED, WaitlistEvent.Action.REMOVED, actor=actor, data={"reason": reason})
    return entry


def waitlist_process(*, now=None):
    """The periodic pass (`manage.py process_waitlist`): for every item type with someone in line,
    lapse the offers that ran out, expire entries whose days have come, and offer what is free
    (units that came back by a way no service saw, e.g. a unit added in the admin). Returns the
    number of offers made."""
    item_type_ids = set(WaitlistEntry.objects.filter(status__in=ACTIVE_STATUSES).values_list("item_type_id", flat=True))
    offered = 0
    for item_type_id in sorted(item_type_ids):
        offered += len(waitlist_offers_make(item_type_ids=[item_type_id], now=now))
    return offered


def waitlist_purge(*, cutoff, dry_run=False):
    """Forget who waited on entries that ended and whose pickup day is before `cutoff` (with the
    retention period of `purge_personal_data`): the teacher, and her as the actor of their events.
    The entries stay, without a person, for the statistics of demand. Returns how many."""
    ended = WaitlistEntry.objects.filter(pickup_day__lt=cutoff, borrower__isnull=False).exclude(
        status__in=ACTIVE_STATUSES)
    count = ended.count()
    if not dry_run and count:
        with transaction.atomic():
            WaitlistEvent.objects.filter(entry__in=ended, actor_id=F("entry__borrower_id")).update(actor=None)
            ended.update(borrower=None)
    return count


def waitlist_entries_leave_all(*, user):
    """End every active place of `user` on the waiting list (her account is being deleted); returns
    the item types whose offers are freed. Call `waitlist_offers_after_commit` with them."""
    entries = WaitlistEntry.objects.select_for_update().filter(borrower=user, status__in=ACTIVE_STATUSES)
    item_type_ids = set()
    for entry in entries:
        item_type_ids.add(entry.item_type_id)
        _end(entry, S.LEFT, WaitlistEvent.Action.LEFT, actor=None, data={"account_deleted": True})
    return item_type_ids


def waitlist_offers_after_commit(*, item_type_ids):
    """Run the offer step for `item_type_ids` once the current transaction is committed, in a
    transaction of its own (for callers whose own locks would come in the wrong order)."""
    item_type_ids = sorted(set(item_type_ids))
    if item_type_ids:
        transaction.on_commit(lambda: waitlist_offers_make(item_type_ids=item_type_ids), robust=True)
