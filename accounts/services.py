"""Writes of the accounts domain that concern personal data: the contact address, deleting an
account, and removing the link between people and finished loans after the retention period.

German data protection law (DSGVO art. 5(1)(c, e), art. 17) asks for as little personal data as
the loans need, for no longer than needed: the person behind a finished loan is forgotten after
PERSONAL_DATA_RETENTION_DAYS, and a teacher may delete their account whenever nothing is on loan.
The loans themselves stay (without a person) for the availability history and the statistics.
"""

import dataclasses
import datetime
import logging

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from lending.exceptions import BookingError
from lending.models import (
    HOLDING_STATUSES,
    DamageReport,
    Handover,
    Reservation,
    ReservationEvent,
    ReservationStatus,
    TeacherYear,
    UnitEvent,
)
from lending.services import reservation_cancel
from lending.waitlist import waitlist_entries_leave_all, waitlist_offers_after_commit

logger = logging.getLogger(__name__)

# code -> (message, HTTP status)
ACCOUNT_ERRORS = {
    "staff_account": (
        _("Accounts of counter staff and administrators cannot be deleted here. Please ask an administrator "
          "of the media centre to remove your account."),
        403,
    ),
    "on_loan": (
        _("Your account cannot be deleted while you have equipment on loan. Please return it first."),
        409,
    ),
    "damage_case_open": (
        _("Your account cannot be deleted while a damage report about one of your loans is still open. "
          "The media centre will settle it first."),
        409,
    ),
    "api_tokens_staff_only": (
        _("API tokens are for counter staff and administrators."),
        403,
    ),
    "api_token_limit": (
        _("You have too many API tokens. Revoke the ones you no longer use first."),
        409,
    ),
}


class AccountError(Exception):
    """A refusal about an account. `code` is stable; tests assert it, pages show `message`."""

    def __init__(self, code):
        if code not in ACCOUNT_ERRORS:
            raise ValueError(f"unknown account error code {code!r}")
        self.code = code
        super().__init__(code)

    @property
    def message(self):
        return ACCOUNT_ERRORS[self.code][0]

    @property
    def http_status(self):
        return ACCOUNT_ERRORS[self.code][1]


def account_contact_update(*, user, contact_email, language, mail_reminders=None, mail_digest=None):
    """Set where notifications go (`contact_email`, empty: the account's own address), the
    language of e-mails (`language`, a code of settings.LANGUAGES or empty for the site default)
    and, unless None, whether reminders are sent (`mail_reminders`) and, for staff, the daily
    digest (`mail_digest`).

    The caller validates the input (a form); this checks it again through the model. Counts as
    having answered the one-time question for a contact address. Returns the user.
    """
    user.contact_email = (contact_email or "").strip()
    user.language = language or ""
    user.contact_email_asked = True
    if mail_reminders is not None:
        user.mail_reminders = bool(mail_reminders)
    if mail_digest is not None:
        user.mail_digest = bool(mail_digest)
    user.clean_fields(exclude=[
        field.name for field in User._meta.fields if field.name not in ("contact_email", "language")
    ])
    user.save(update_fields=["contact_email", "language", "contact_email_asked", "mail_reminders", "mail_digest"])
    return user


def account_deletion_refusal(*, user):
    """The AccountError code that stops `user` from deleting their account now, or None.

    Staff and administrators are refused (an administrator removes their accounts, so a counter
    is never left without anyone). Anyone else is refused while a unit is out on one of their
    bookings, and while a damage report about one of their loans is open: the media centre must
    still be able to reach them about it (the same rule keeps the link in personal_data_purge).
    """
    if user.role != Role.TEACHER or user.is_staff or user.is_superuser:
        return "staff_account"
    own = Reservation.objects.filter(borrower=user)
    if (own.filter(status=ReservationStatus.HANDED_OUT).exists()
            or Handover.objects.filter(reservation__borrower=user, returned_at__isnull=True).exists()):
        return "on_loan"
    if DamageReport.objects.filter(reservation__in=own, status=DamageReport.Status.OPEN).exists():
        return "damage_case_open"
    return None


def account_bookings_to_cancel(*, user, today):
    """The bookings that deleting `user`'s account cancels: confirmed, pickup day today or later."""
    return Reservation.objects.filter(borrower=user, status=ReservationStatus.CONFIRMED, pickup_day__gte=today)


def account_delete(*, user):
    """Delete `user`'s account: cancel their confirmed future bookings, then remove the user row.

    Bookings, their events and damage reports stay without the person (every key to the user is
    SET_NULL); sign-in connections, e-mail addresses, second factors and qualification grants go
    with the account (CASCADE). Confirmed bookings from today on are cancelled first through
    lending.services.reservation_cancel, so their units are free again and calendar feeds show
    them as cancelled.

    Raises AccountError with one of: staff_account, on_loan, damage_case_open. Nothing is
    written when it raises.
    """
    today = timezone.localdate()
    with transaction.atomic():
        # The hand-over locks the reservation first; locking all of theirs (in the same order as
        # everywhere, by key) makes a unit scanned at the counter right now either wait for the
        # deletion or be seen by the check below.
        list(Reservation.objects.select_for_update().filter(borrower=user).order_by("pk").values_list("pk"))
        user = User.objects.select_for_update().get(pk=user.pk)
        code = account_deletion_refusal(user=user)
        if code is not None:
            raise AccountError(code)
        # Her places on the waiting list end first, so that none is offered what her bookings free.
        freed = waitlist_entries_leave_all(user=user)
        for reservation in account_bookings_to_cancel(user=user, today=today).order_by("pk"):
            freed.update(reservation.lines.values_list("item_type_id", flat=True))
            try:
                # Several cancellations in one transaction: their offers to the waiting list are
                # made once it is committed (each would lock item types after another's location).
                reservation_cancel(reservation=reservation, actor=user, offer_freed=False)
            except BookingError:
                # A unit was assigned at the counter after all: that is a loan.
                raise AccountError("on_loan") from None
        waitlist_offers_after_commit(item_type_ids=freed)
        user_pk = user.pk
        # What would still name the person: their own notes on bookings, and the admin history
        # of their account (qualification grants name them there).
        # updated_at moves so that the counter's calendar feed (which names the borrower) is sent again.
        Reservation.objects.filter(borrower=user).update(note="", updated_at=timezone.now())
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(user_pk)).delete()
        user.delete()
    logger.info("account %s deleted by its owner", user_pk)


# Retention ----------------------------------------------------------------------------------------

PURGE_BATCH = 500


@dataclasses.dataclass
class PurgeResult:
    """What personal_data_purge changed (or, on a dry run, would change)."""

    reservations: int = 0
    reservation_events: int = 0
    unit_events: int = 0
    handovers: int = 0
    damage_reports: int = 0
    kept_for_open_damage_cases: int = 0
    cutoff: datetime.date | None = None


def _open_damage_case():
    return Exists(DamageReport.objects.filter(reservation=OuterRef("pk"), status=DamageReport.Status.OPEN))


def _finished_before(cutoff):
    """Finished loans whose last day is before `cutoff`: returned (by the return day, and by the
    day the last unit actually came back, for loans returned late), cancelled or not picked up
    (by the pickup day)."""
    cutoff_start = timezone.make_aware(datetime.datetime.combine(cutoff, datetime.time.min))
    returned_since = Exists(Handover.objects.filter(reservation=OuterRef("pk"), returned_at__gte=cutoff_start))
    return (
        Reservation.objects.filter(Q(borrower__isnull=False) | Q(colleague__isnull=False))
        .filter(Q(status=ReservationStatus.RETURNED, return_day__lt=cutoff)
                | Q(status__in=(ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW), pickup_day__lt=cutoff))
        .exclude(returned_since)
    )


def personal_data_purge(*, older_than_days, today, dry_run=False):
    """Remove the link between people and loans that finished more than `older_than_days` days
    before `today`: returned loans by their return day (or the day the last unit came back, if
    later), cancelled and not picked up bookings by their pickup day.

    For each such booking the borrower is removed, the borrower's free-text note is emptied, and
    wherever the borrower appears as the person who acted in it (its events, the unit events
    that name it, its hand-overs, damage reports they made) that person becomes unknown. Staff
    who acted stay recorded. A booking with an open damage report keeps everything until the
    report is settled.

    Works in batches, each in its own transaction, and is idempotent: a second run finds nothing.
    With `dry_run` nothing is written and the counts say what a real run would change.
    Returns a PurgeResult.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cutoff = today - datetime.timedelta(days=older_than_days)
    candidates = _finished_before(cutoff)
    result = PurgeResult(cutoff=cutoff)
    result.kept_for_open_damage_cases = candidates.filter(_open_damage_case()).count()
    candidates = candidates.exclude(_open_damage_case())
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = candidates.filter(pk__gt=last_pk).order_by("pk")
            if not dry_run:
                # Locked like every other write to a booking, so a change at the counter waits.
                batch = batch.select_for_update(of=("self",))
            rows = list(batch.values_list("pk", "code", "borrower_id")[:PURGE_BATCH])
            if not rows:
                break
            last_pk = rows[-1][0]
            _purge_batch(rows, result, dry_run=dry_run, today=today)
    logger.info(
        "personal data purge%s (before %s): %s reservations, %s reservation events, %s unit events, "
        "%s hand-overs, %s damage reports; %s kept for open damage cases",
        " (dry run)" if dry_run else "", cutoff, result.reservations, result.reservation_events,
        result.unit_events, result.handovers, result.damage_reports, result.kept_for_open_damage_cases,
    )
    return result


def _purge_batch(rows, result, *, dry_run, today):
    reservation_ids = [pk for pk, _code, _borrower in rows]
    borrower_of_code = {code: borrower_id for _pk, code, borrower_id in rows}
    borrower_is_actor = F("reservation__borrower_id")

    event_ids = list(ReservationEvent.objects.filter(
        reservation_id__in=reservation_ids, actor_id=borrower_is_actor).values_list("pk", flat=True))
    # Unit events name their booking by its code in `data`, not by a key.
    unit_event_ids = [
        pk for pk, actor_id, code in UnitEvent.objects.filter(
            actor_id__in=set(borrower_of_code.values()), data__reservation__in=list(borrower_of_code)
        ).values_list("pk", "actor_id", "data__reservation")
        if borrower_of_code.get(code) == actor_id
    ]
    handed_out_ids = list(Handover.objects.filter(
        reservation_id__in=reservation_ids, handed_out_by_id=borrower_is_actor).values_list("pk", flat=True))
    returned_ids = list(Handover.objects.filter(
        reservation_id__in=reservation_ids, returned_by_id=borrower_is_actor).values_list("pk", flat=True))
    report_ids = list(DamageReport.objects.filter(
        reservation_id__in=reservation_ids, reported_by_id=borrower_is_actor).values_list("pk", flat=True))

    result.reservations += len(reservation_ids)
    result.reservation_events += len(event_ids)
    result.unit_events += len(unit_event_ids)
    result.handovers += len(set(handed_out_ids) | set(returned_ids))
    result.damage_reports += len(report_ids)
    if dry_run:
        return
    # The person links first, the borrower last: they are found through the borrower.
    ReservationEvent.objects.filter(pk__in=event_ids).update(actor=None)
    UnitEvent.objects.filter(pk__in=unit_event_ids).update(actor=None)
    Handover.objects.filter(pk__in=handed_out_ids).update(handed_out_by=None)
    Handover.objects.filter(pk__in=returned_ids).update(returned_by=None)
    DamageReport.objects.filter(pk__in=report_ids).update(reported_by=None)
    # updated_at moves so that the counter's calendar feed (which names the borrower) is sent again.
    Reservation.objects.filter(pk__in=reservation_ids).update(borrower=None, colleague=None, note="",
                                                              updated_at=timezone.now())
    # Her statistics reference of a past year goes once no open booking of that year names her (no
    # loan of hers can be counted there any more): then nothing links her to the counters she was
    # counted at (lending.models.TeacherYear). This year's stays: she may borrow again.
    borrowers = {borrower_id for _pk, _code, borrower_id in rows if borrower_id is not None}
    TeacherYear.objects.filter(borrower_id__in=borrowers, year__lt=today.year).exclude(Exists(
        Reservation.objects.filter(borrower_id=OuterRef("borrower_id"), pickup_day__year=OuterRef("year"),
                                   status__in=HOLDING_STATUSES))).delete()
