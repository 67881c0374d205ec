"""Which change produces which mail for whom: the part of the notifications that is ours.

`booking_event_notify` is called by the booking services in their own transaction, right after
they write the event it reports; it only inserts queue rows (one INSERT, no rendering), so a
booking is hardly slower for it. The worker renders and sends them (notifications/delivery.py).
"""

import datetime
import uuid

from django.utils import timezone

from lending.models import ReservationEvent
from notifications.models import Mail

KIND_OF_ACTION = {
    ReservationEvent.Action.CREATED: Mail.Kind.BOOKING_CONFIRMED,
    ReservationEvent.Action.CHANGED: Mail.Kind.BOOKING_CHANGED,
    ReservationEvent.Action.CANCELLED: Mail.Kind.BOOKING_CANCELLED,
    ReservationEvent.Action.EXTENDED: Mail.Kind.BOOKING_EXTENDED,
    ReservationEvent.Action.NO_SHOW: Mail.Kind.NO_SHOW,
    ReservationEvent.Action.RETURNED: Mail.Kind.RETURN_RECEIPT,
}


def mail_queue(*, kind, key, recipient, reservation=None, event=None, requested_by=None, damage_report=None,
               data=None):
    """Queue one mail, unless one with the same key is queued or sent already (then nothing).

    Call it inside the transaction of the change it reports: it is written, or rolled back, with
    it."""
    Mail.objects.bulk_create([Mail(
        kind=kind, key=key, recipient=recipient, reservation=reservation, event=event,
        requested_by=requested_by, damage_report=damage_report, next_attempt_at=timezone.now(), data=data or {},
    )], ignore_conflicts=True)


def waitlist_offer_notify(entry):
    """Tell the teacher next in line that units are held for her, and until when."""
    kind = Mail.Kind.WAITLIST_OFFER
    mail_queue(kind=kind, key=f"{kind}:{entry.pk}:{entry.offered_at.isoformat()}", recipient=entry.borrower,
               data={"entry": entry.pk, "offered_at": entry.offered_at.isoformat()})


def booking_event_notify(event):
    """The mail a booking event owes the borrower, if any: confirmed, changed, cancelled,
    extended, not picked up, returned (the receipt); and the one naming a colleague owes them."""
    if event.action == ReservationEvent.Action.COLLEAGUE:
        _colleague_notify(event)
        return
    kind = KIND_OF_ACTION.get(event.action)
    if kind is None or event.reservation.borrower_id is None:
        return
    reservation = event.reservation
    mail_queue(kind=kind, key=f"{kind}:{event.pk}:{reservation.borrower_id}",
              recipient=reservation.borrower, reservation=reservation, event=event)


def _colleague_notify(event):
    """Tell the colleague a borrower named that they may pick up and return the booking."""
    reservation = event.reservation
    if event.data.get("named") and reservation.colleague_id is not None:
        kind = Mail.Kind.COLLEAGUE_NAMED
        mail_queue(kind=kind, key=f"{kind}:{event.pk}:{reservation.colleague_id}", recipient=reservation.colleague,
                   reservation=reservation, event=event)


def damage_report_notify(report, *, settled):
    """Tell the borrower of the loan that a damage report was received (whoever made it: she,
    or the counter at the take-back) or settled (how, and what she owes, if anything)."""
    reservation = report.reservation
    if reservation is None or reservation.borrower_id is None:
        return
    kind = Mail.Kind.DAMAGE_SETTLED if settled else Mail.Kind.DAMAGE_RECEIVED
    mail_queue(kind=kind, key=f"{kind}:{report.pk}:{reservation.borrower_id}", recipient=reservation.borrower,
               reservation=reservation, damage_report=report)


def booking_confirmation_resend(*, reservation, actor):
    """Staff send the booking's confirmation once more (as it stands now), e.g. after the teacher
    corrected her address."""
    mail_queue(kind=Mail.Kind.BOOKING_CONFIRMED, key=f"resend:{uuid.uuid4().hex}",
              recipient=reservation.borrower, reservation=reservation, requested_by=actor)


def mail_undeliverable_to(user):
    """The newest mail to `user` if it failed at the address they still have, else None: what
    their account page warns about ("we could not reach you at …")."""
    newest = Mail.objects.filter(recipient=user).exclude(status=Mail.Status.QUEUED).order_by("-created_at", "-pk").first()
    if newest and newest.status == Mail.Status.FAILED and newest.to and newest.to == user.notification_email:
        return newest
    return None


def mails_purge(*, now, older_than_days, dry_run=False):
    """Remove delivered and failed mails queued more than `older_than_days` ago (who was written
    to, when, and about what is personal data); returns how many. Queued ones stay."""
    old = Mail.objects.filter(created_at__lt=now - datetime.timedelta(days=older_than_days),
                              status__in=(Mail.Status.SENT, Mail.Status.FAILED))
    if dry_run:
        return old.count()
    return old.delete()[1].get(Mail._meta.label, 0)
