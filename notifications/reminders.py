"""Reminders and overdue notices, queued by a periodic command (`manage.py send_reminders`).

Each reminder is keyed on what it reminds of (the booking and its pickup or return day; for an
overdue notice also its number), so the command may run as often as cron likes, twice, or in two
copies at once: the unique key lets the database keep one row per reminder, and a second run
inserts nothing. The work is a few queries per batch of bookings, not per booking.

- pickup reminder: on the MAIL_PICKUP_REMINDER_DAYS-th working day (Monday to Friday, not a public
  holiday of the counter's state) before the pickup, for confirmed bookings made before that day, unless the teacher switched reminders off;
- return reminder: MAIL_RETURN_REMINDER_DAYS days before the return day, for loans out;
- overdue notice: the day after the return day, then every MAIL_OVERDUE_REPEAT_DAYS days; from the
  second notice on, each staff member of the counter gets a copy;
- at risk: a confirmed booking picked up within MAIL_AT_RISK_DAYS whose item type has units out on
  an overdue loan, without which the rest do not cover it (lending/at_risk.py), with what the
  counter can offer instead; once per booking and pickup day;
- qualification expiring: MAIL_QUALIFICATION_NOTICE_DAYS before a qualification that some items
  require runs out (an optional mail, like the reminders);
- the counter's daily digest: from MAIL_DIGEST_HOUR on the day before each counter day, for the
  staff of that counter who want it (User.mail_digest); rendered when sent, so it shows the day as
  it stands then.

A reminder queued for a booking that changes before it is sent (cancelled, moved, returned) is
not sent (notifications.messages.still_applies).
"""

import dataclasses
import datetime
import functools

import holidays
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import QualificationGrant, Role, User
from catalog.models import ItemType, Location
from catalog.selectors import counter_days
from lending.at_risk import bookings_at_risk
from lending.models import Reservation, ReservationStatus
from notifications.models import Mail

BATCH = 500


@dataclasses.dataclass
class ReminderResult:
    pickup: int = 0
    returns: int = 0
    overdue: int = 0
    copies: int = 0
    qualifications: int = 0
    at_risk: int = 0
    digests: int = 0


# Working days a reminder may reach back over besides weekends: Good Friday and Easter Monday, or
# Christmas and Boxing Day.
HOLIDAY_MARGIN_DAYS = 4


@functools.lru_cache(maxsize=64)
def public_holidays(state, year):
    """The public holidays of a German state in a year (the `holidays` package), as a set of days;
    empty for a state it does not know."""
    try:
        return frozenset(holidays.Germany(subdiv=state, years=year))
    except NotImplementedError:
        return frozenset()


def working_days_before(day, count, *, state=None):
    """The day `count` working days (Monday to Friday, not a public holiday of `state`) before `day`."""
    while count > 0:
        day -= datetime.timedelta(days=1)
        if day.isoweekday() <= 5 and (state is None or day not in public_holidays(state, day.year)):
            count -= 1
    return day


def _queue(rows):
    """Insert the mails in batches; those already there (same key) are left alone."""
    for start in range(0, len(rows), BATCH):
        Mail.objects.bulk_create(rows[start:start + BATCH], ignore_conflicts=True)


def _mail(kind, key, reservation_id, recipient_id, now):
    return Mail(kind=kind, key=key, reservation_id=reservation_id, recipient_id=recipient_id, next_attempt_at=now)


def reminders_queue(*, today=None, now=None):
    """Queue every reminder and overdue notice due today; returns a ReminderResult of how many
    were due (whether queued now or by an earlier run)."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    result = ReminderResult()
    rows = []

    # Pickups: the latest pickup day whose reminder falls on or before today, skipping weekends
    # and public holidays.
    pickup_days = settings.MAIL_PICKUP_REMINDER_DAYS
    last_pickup = today + datetime.timedelta(days=pickup_days + 2 * (pickup_days // 5 + 1) + HOLIDAY_MARGIN_DAYS)
    for pk, pickup_day, borrower_id, created_at, state in Reservation.objects.filter(
            status=ReservationStatus.CONFIRMED, pickup_day__gt=today, pickup_day__lte=last_pickup,
            borrower__isnull=False, borrower__mail_reminders=True).values_list(
            "pk", "pickup_day", "borrower_id", "created_at", "location__holiday_state").iterator(chunk_size=BATCH):
        reminder_day = working_days_before(pickup_day, pickup_days, state=state)
        # Not for a booking made on its reminder day or later: its confirmation has just come.
        if reminder_day <= today and created_at < _start_of(reminder_day):
            rows.append(_mail(Mail.Kind.PICKUP_REMINDER, f"pickup_reminder:{pk}:{pickup_day}", pk, borrower_id, now))
            result.pickup += 1

    # Returns of loans out, due within the next MAIL_RETURN_REMINDER_DAYS days.
    return_days = settings.MAIL_RETURN_REMINDER_DAYS
    for pk, return_day, borrower_id in Reservation.objects.filter(
            status=ReservationStatus.HANDED_OUT, return_day__gte=today,
            return_day__lte=today + datetime.timedelta(days=return_days),
            borrower__isnull=False, borrower__mail_reminders=True).values_list(
            "pk", "return_day", "borrower_id").iterator(chunk_size=BATCH):
        if return_day > today or return_days == 0:
            rows.append(_mail(Mail.Kind.RETURN_REMINDER, f"return_reminder:{pk}:{return_day}", pk, borrower_id, now))
            result.returns += 1

    # Overdue loans: notice 1 the day after the return day, notice 2 MAIL_OVERDUE_REPEAT_DAYS later, …
    repeat = max(settings.MAIL_OVERDUE_REPEAT_DAYS, 1)
    # A delivery the tour collected is on its way back, not overdue with the teacher.
    overdue = list(Reservation.objects.filter(status=ReservationStatus.HANDED_OUT, return_day__lt=today,
                                              borrower__isnull=False, collected_at__isnull=True)
                   .values_list("pk", "return_day", "borrower_id", "location_id"))
    staff = _staff_by_location({location_id for *_rest, location_id in overdue})
    for pk, return_day, borrower_id, location_id in overdue:
        notice = 1 + ((today - return_day).days - 1) // repeat
        key = f"overdue:{pk}:{return_day}:{notice}"
        rows.append(_mail(Mail.Kind.OVERDUE, f"{key}:{borrower_id}", pk, borrower_id, now))
        result.overdue += 1
        if notice >= 2:
            for staff_id in staff.get(location_id, ()):
                rows.append(_mail(Mail.Kind.OVERDUE_COPY, f"{key}:{staff_id}", pk, staff_id, now))
                result.copies += 1
    result.at_risk = _at_risk(rows, today=today, now=now)
    result.qualifications = _qualifications_expiring(rows, today=today, now=now)
    result.digests = _digests(rows, today=today, now=now)
    _queue(rows)
    return result


def _at_risk(rows, *, today, now):
    """Teachers whose booking within MAIL_AT_RISK_DAYS is at risk from an overdue loan (lending/at_risk.py);
    once per booking and pickup day."""
    found = bookings_at_risk(today=today, pickup_until=today + datetime.timedelta(days=settings.MAIL_AT_RISK_DAYS))
    count = 0
    for pk, pickup_day, borrower_id in Reservation.objects.filter(pk__in=found, borrower__isnull=False).values_list(
            "pk", "pickup_day", "borrower_id"):
        rows.append(_mail(Mail.Kind.AT_RISK, f"at_risk:{pk}:{pickup_day}", pk, borrower_id, now))
        count += 1
    return count


def _qualifications_expiring(rows, *, today, now):
    """Teachers whose qualification for some items runs out within MAIL_QUALIFICATION_NOTICE_DAYS."""
    gating = {}
    for qualification_id, name in ItemType.objects.filter(required_qualification__isnull=False).values_list(
            "required_qualification_id", "name").order_by("name"):
        gating.setdefault(qualification_id, []).append(name)
    count = 0
    for grant_id, user_id, qualification_id, name, expires_on in QualificationGrant.objects.filter(
            qualification_id__in=gating, expires_on__gt=today,
            expires_on__lte=today + datetime.timedelta(days=settings.MAIL_QUALIFICATION_NOTICE_DAYS),
            user__is_active=True, user__mail_reminders=True).values_list(
            "pk", "user_id", "qualification_id", "qualification__name", "expires_on"):
        mail = _mail(Mail.Kind.QUALIFICATION_EXPIRING, f"qualification_expiring:{grant_id}:{expires_on}", None,
                     user_id, now)
        mail.data = {"grant": grant_id, "qualification": name, "expires_on": expires_on.isoformat(),
                     "item_types": gating[qualification_id][:20]}
        rows.append(mail)
        count += 1
    return count


def _digests(rows, *, today, now):
    """From MAIL_DIGEST_HOUR on, the digest of tomorrow's counter day for each staff member of that
    counter who wants it (User.mail_digest)."""
    if timezone.localtime(now).date() == today and timezone.localtime(now).hour < settings.MAIL_DIGEST_HOUR:
        return 0
    tomorrow = today + datetime.timedelta(days=1)
    locations = [location for location in Location.objects.all()
                 if counter_days(location=location, first_day=tomorrow, last_day=tomorrow)[0].is_open]
    if not locations:
        return 0
    count = 0
    for user_id, location_id in (User.objects.filter(role__in=(Role.STAFF, Role.ADMIN), is_active=True,
                                                     mail_digest=True, locations__in=locations)
                                 .values_list("pk", "locations").distinct()):
        mail = _mail(Mail.Kind.DAILY_DIGEST, f"digest:{location_id}:{tomorrow}:{user_id}", None, user_id, now)
        mail.data = {"location": location_id, "day": tomorrow.isoformat()}
        rows.append(mail)
        count += 1
    return count


def _start_of(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _staff_by_location(location_ids):
    """{location id: [user ids]} of the counter staff who work there (by assignment), one query."""
    found = {}
    for user_id, location_id in (User.objects.filter(Q(role__in=(Role.STAFF, Role.ADMIN)), is_active=True,
                                                     locations__in=location_ids)
                                 .values_list("pk", "locations").distinct()):
        found.setdefault(location_id, []).append(user_id)
    return found
