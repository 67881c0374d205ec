"""Delivering the queue: each mail at most once, with retries while the mail server refuses.

A worker claims one due mail with a conditional UPDATE (queued -> sending) that commits before
anything is sent; only the worker whose UPDATE changed the row sends it, however many run against
one database. After the mail server has answered, the row becomes sent, queued again with a later
attempt (a temporary refusal or no connection), or failed (a permanent refusal, no address, or its
last attempt). A worker killed between claiming and recording leaves its row "sending": after
MAIL_SENDING_TIMEOUT_SECONDS it is marked failed as "interrupted", never sent again on its own, since
the server may have accepted it (the admin's Retry action sends it again, on a person's decision).
"""

import dataclasses
import datetime
import logging
import smtplib
import socket

from django.conf import settings
from django.core.mail import get_connection
from django.db.models import F
from django.utils import timezone

from notifications.messages import NoAddress, build, still_applies
from notifications.models import Mail

logger = logging.getLogger(__name__)

CLAIM_BATCH = 50


@dataclasses.dataclass
class DeliveryResult:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: int = 0


def _handled(result):
    return result.sent + result.deferred + result.failed + result.skipped


def retry_delay(attempts):
    """How long to wait after the `attempts`-th attempt failed: doubling from the base, up to 6 h."""
    return datetime.timedelta(seconds=min(settings.MAIL_RETRY_SECONDS * 2 ** (attempts - 1), 6 * 3600))


def mails_interrupted_fail(*, now):
    """Mark mails whose worker stopped while sending them as failed; returns how many."""
    cutoff = now - datetime.timedelta(seconds=settings.MAIL_SENDING_TIMEOUT_SECONDS)
    return Mail.objects.filter(status=Mail.Status.SENDING, claimed_at__lt=cutoff).update(
        status=Mail.Status.FAILED, last_error="interrupted while sending; it may or may not have arrived")


def _claim(mail_id, now):
    return Mail.objects.filter(pk=mail_id, status=Mail.Status.QUEUED).update(
        status=Mail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1) == 1


def _permanent(error):
    """A refusal that will not change by trying again (5xx), unlike 4xx and lost connections."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _message in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _describe(error):
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {message.decode(errors='replace')}" for code, message in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {error.smtp_error.decode(errors='replace') if isinstance(error.smtp_error, bytes) else error.smtp_error}"
    return f"{type(error).__name__}: {error}"[:500]


def deliver_due(*, now=None, limit=None, connection=None):
    """Send every mail that is due, up to `limit`; returns a DeliveryResult.

    Opens one connection to the mail server for the whole run (Django's EMAIL_BACKEND)."""
    now = now or timezone.now()
    result = DeliveryResult(interrupted=mails_interrupted_fail(now=now))
    connection = connection or get_connection()
    try:
        while limit is None or _handled(result) < limit:
            due = list(Mail.objects.filter(status=Mail.Status.QUEUED, next_attempt_at__lte=now)
                       .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:CLAIM_BATCH])
            if not due:
                break
            for mail_id in due:
                if limit is not None and _handled(result) >= limit:
                    break
                if not _claim(mail_id, timezone.now()):
                    continue  # another worker has it
                # The event and the damage report only for the kinds that show them (a lazy query
                # then): joined for every mail, they made this read the slowest step on PostgreSQL.
                mail = (Mail.objects.select_related("recipient", "reservation__location", "reservation__borrower",
                                                    "reservation__school").get(pk=mail_id))
                outcome = _send_one(mail, connection)
                setattr(result, outcome, getattr(result, outcome) + 1)
    finally:
        _close(connection)
    return result


def _close(connection):
    try:
        connection.close()
    except (smtplib.SMTPException, OSError):
        pass


def _send_one(mail, connection):
    try:
        if not still_applies(mail):
            _record(mail, status=Mail.Status.SKIPPED, error="")
            return "skipped"
        message = build(mail)
    except NoAddress:
        _record(mail, status=Mail.Status.FAILED, error="no e-mail address")
        return "failed"
    except Exception as error:  # noqa: BLE001 - one mail that cannot be written must not stop the queue
        # Only the kind of error: its text could quote what the mail was to say.
        _record(mail, status=Mail.Status.FAILED, error=f"could not be written: {type(error).__name__}")
        logger.error("mail %s (%s) could not be written: %s", mail.pk, mail.kind, type(error).__name__)
        return "failed"
    mail.to, mail.subject = message.to[0], message.subject[:250]
    mail.message_id = message.extra_headers["Message-ID"]
    try:
        connection.open()  # once per run: it stays open until closed (a no-op while it is)
        connection.send_messages([message])
    except (smtplib.SMTPException, OSError, socket.timeout) as error:
        _close(connection)  # a broken connection is opened afresh for the next mail
        permanent = _permanent(error)
        if permanent or mail.attempts >= settings.MAIL_MAX_ATTEMPTS:
            _record(mail, status=Mail.Status.FAILED, error=_describe(error))
            logger.warning("mail %s failed for good: %s", mail.pk, _describe(error))
            return "failed"
        _record(mail, status=Mail.Status.QUEUED, error=_describe(error),
                next_attempt_at=timezone.now() + retry_delay(mail.attempts))
        logger.info("mail %s deferred after attempt %s: %s", mail.pk, mail.attempts, _describe(error))
        return "deferred"
    _record(mail, status=Mail.Status.SENT, sent_at=timezone.now(), error="")
    logger.info("mail %s (%s) sent", mail.pk, mail.kind)
    return "sent"


def _record(mail, *, status, error, **fields):
    Mail.objects.filter(pk=mail.pk).update(
        status=status, last_error=error[:500], to=mail.to, subject=mail.subject, message_id=mail.message_id, **fields)
