"""What the booking services need to know about waiting-list offers, without the waiting list's
own services (lending/waitlist.py), which build on the booking services: an offer's hold in a
pickup slot, and taking an open offer when a booking is made from it."""

from django.utils import timezone

from lending.exceptions import BookingError
from lending.models import WaitlistEntry, WaitlistEvent


def open_offers_in_slot(*, location, day, slot, exclude_offer_id=None, now=None):
    """How many open offers hold a place in this pickup slot (each counts like a booking)."""
    offers = WaitlistEntry.objects.filter(
        location=location, pickup_day=day, pickup_slot=slot, status=WaitlistEntry.Status.OFFERED,
        offer_expires_at__gt=now or timezone.now(),
    )
    if exclude_offer_id is not None:
        offers = offers.exclude(pk=exclude_offer_id)
    return offers.count()


def offer_lock_open(*, entry, borrower, quantities, pickup_day, pickup_slot, return_day, now):
    """Lock `entry` (after the item types and the location, see lending.services) and return it
    if it is an open offer to `borrower` for exactly this booking; else
    BookingError("offer_not_open")."""
    entry = WaitlistEntry.objects.select_for_update().filter(pk=entry.pk).first()
    if (entry is None or entry.borrower_id != getattr(borrower, "pk", None) or not entry.offer_is_open(now)
            or quantities != {entry.item_type_id: entry.quantity}
            or (pickup_day, pickup_slot, return_day) != (entry.pickup_day, entry.pickup_slot, entry.return_day)):
        raise BookingError("offer_not_open")
    return entry


def offer_booked(*, entry, reservation, actor):
    entry.status = WaitlistEntry.Status.BOOKED
    entry.reservation = reservation
    entry.save(update_fields=["status", "reservation", "updated_at"])
    WaitlistEvent.objects.create(entry=entry, actor=actor, action=WaitlistEvent.Action.BOOKED,
                                 data={"reservation": reservation.code})
