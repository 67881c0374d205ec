"""Reminders and overdue notices: `manage.py send_reminders` queues what is due, as often as it
runs, and the worker sends only what still holds when it sends."""

import datetime
import io
import os
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from lending.models import Reservation, ReservationStatus
from notifications.delivery import deliver_due
from notifications.models import Mail
from notifications.reminders import reminders_queue, working_days_before
from tests import factories
from tests.notifications.test_delivery_workers import database_url

BERLIN = datetime.timezone(datetime.timedelta(hours=1))  # March 2027, before the clock change
MONDAY = datetime.date(2027, 3, 1)
TUESDAY = MONDAY + datetime.timedelta(days=1)
FRIDAY_BEFORE = MONDAY - datetime.timedelta(days=3)


def booking(location, school, teacher, item_type, *, pickup_day=TUESDAY, return_day=None, status=None,
            booked_on=MONDAY - datetime.timedelta(days=14)):
    reservation = factories.make_reservation(
        location=location, school=school, borrower=teacher, lines={item_type: 1}, pickup_day=pickup_day,
        return_day=return_day or pickup_day + datetime.timedelta(days=7), status=status)
    Reservation.objects.filter(pk=reservation.pk).update(
        created_at=timezone.make_aware(datetime.datetime.combine(booked_on, datetime.time(12))))
    return reservation


def kinds():
    """The mails queued, but the counter's digests (their own tests below)."""
    return sorted(Mail.objects.exclude(kind=Mail.Kind.DAILY_DIGEST).values_list("kind", "recipient__username"))


def test_working_days_before_skip_the_weekend():
    assert working_days_before(TUESDAY, 1) == MONDAY
    assert working_days_before(MONDAY, 1) == FRIDAY_BEFORE
    assert working_days_before(MONDAY, 2) == FRIDAY_BEFORE - datetime.timedelta(days=1)


def test_working_days_before_skip_the_public_holidays_of_the_counters_state():
    # Easter 2027: Good Friday 26 March and Easter Monday 29 March are holidays everywhere.
    assert working_days_before(datetime.date(2027, 3, 30), 1, state="NW") == datetime.date(2027, 3, 25)
    assert working_days_before(datetime.date(2027, 3, 30), 1) == datetime.date(2027, 3, 29)
    # Corpus Christi (27 May 2027) is a holiday in North Rhine-Westphalia, not in Berlin.
    assert working_days_before(datetime.date(2027, 5, 28), 1, state="NW") == datetime.date(2027, 5, 26)
    assert working_days_before(datetime.date(2027, 5, 28), 1, state="BE") == datetime.date(2027, 5, 27)
    assert working_days_before(datetime.date(2027, 5, 28), 1, state="XX") == datetime.date(2027, 5, 27)


@pytest.mark.django_db
def test_the_pickup_reminder_for_the_tuesday_after_easter_comes_on_the_thursday_before(location, school_a,
                                                                                      teacher_a, item_type):
    assert location.holiday_state == "NW"
    after_easter = booking(location, school_a, teacher_a, item_type, pickup_day=datetime.date(2027, 3, 30),
                           booked_on=datetime.date(2027, 3, 1))

    assert reminders_queue(today=datetime.date(2027, 3, 24)).pickup == 0
    assert reminders_queue(today=datetime.date(2027, 3, 25)).pickup == 1
    assert list(Mail.objects.values_list("reservation", flat=True)) == [after_easter.pk]
    reminders_queue(today=datetime.date(2027, 3, 29))  # Easter Monday: still only the one
    assert Mail.objects.count() == 1


@pytest.mark.django_db
def test_the_pickup_reminder_comes_on_the_working_day_before_and_only_once(location, school_a, teacher_a,
                                                                          item_type):
    booking(location, school_a, teacher_a, item_type, pickup_day=TUESDAY)
    monday_pickup = booking(location, school_a, teacher_a, item_type, pickup_day=MONDAY)

    assert reminders_queue(today=FRIDAY_BEFORE).pickup == 1  # Monday's pickup, on Friday
    assert list(Mail.objects.values_list("reservation", flat=True)) == [monday_pickup.pk]
    reminders_queue(today=MONDAY - datetime.timedelta(days=1))  # Sunday: nothing new
    assert len(kinds()) == 1
    reminders_queue(today=MONDAY)
    reminders_queue(today=MONDAY)  # cron again
    assert kinds() == [(Mail.Kind.PICKUP_REMINDER, "alice")] * 2


@pytest.mark.django_db
def test_no_pickup_reminder_when_switched_off_booked_on_the_day_or_cancelled(location, school_a, teacher_a,
                                                                            teacher_b, school_b, item_type):
    booking(location, school_a, teacher_a, item_type, booked_on=MONDAY)  # booked on the reminder day
    booking(location, school_a, teacher_a, item_type, status=ReservationStatus.CANCELLED)
    teacher_b.mail_reminders = False
    teacher_b.save()
    booking(location, school_b, teacher_b, item_type)

    assert reminders_queue(today=MONDAY).pickup == 0
    assert kinds() == []


@pytest.mark.django_db
def test_a_reminder_for_a_booking_cancelled_since_is_not_sent(smtp_server, location, school_a, teacher_a,
                                                             item_type):
    reservation = booking(location, school_a, teacher_a, item_type)
    reminders_queue(today=MONDAY)
    reservation.status = ReservationStatus.CANCELLED
    reservation.save()

    result = deliver_due()

    assert result.skipped == 1
    assert Mail.objects.get(kind=Mail.Kind.PICKUP_REMINDER).status == Mail.Status.SKIPPED
    assert not any("Erinnerung" in message["Subject"] for message in smtp_server.messages())


@pytest.mark.django_db
def test_return_reminder_and_overdue_notices_with_a_copy_to_the_counter_from_the_second(
        smtp_server, location, school_a, teacher_a, clerk, item_type, settings):
    settings.MAIL_RETURN_REMINDER_DAYS, settings.MAIL_OVERDUE_REPEAT_DAYS = 2, 7
    loan = booking(location, school_a, teacher_a, item_type, pickup_day=MONDAY - datetime.timedelta(days=7),
                   return_day=MONDAY, status=ReservationStatus.HANDED_OUT)

    assert reminders_queue(today=MONDAY - datetime.timedelta(days=3)).returns == 0
    assert reminders_queue(today=MONDAY - datetime.timedelta(days=2)).returns == 1
    assert reminders_queue(today=MONDAY).overdue == 0  # due today: not overdue yet
    first = reminders_queue(today=TUESDAY)
    assert (first.overdue, first.copies) == (1, 0)
    reminders_queue(today=TUESDAY + datetime.timedelta(days=6))  # still the first notice's week
    second = reminders_queue(today=TUESDAY + datetime.timedelta(days=7))
    assert (second.overdue, second.copies) == (1, 1)
    assert kinds() == [(Mail.Kind.OVERDUE, "alice"), (Mail.Kind.OVERDUE, "alice"),
                       (Mail.Kind.OVERDUE_COPY, "clara"), (Mail.Kind.RETURN_REMINDER, "alice")]

    deliver_due()
    messages = [message for message in smtp_server.wait_for(4)
                if not message["Subject"].strip().startswith(location.name)]  # not the counter's digests
    subjects = sorted(message["Subject"] for message in messages)
    assert sum("Überfällig" in subject for subject in subjects) == 3
    copy = next(message for message in messages if "Kopie" in message["Subject"])
    assert "Alice Adler" in copy.get_body(("plain",)).get_content()
    assert f"/theke/{location.slug}/buchung/{loan.code}/" in copy.get_body(("plain",)).get_content()


@pytest.mark.django_db
def test_an_overdue_notice_for_a_loan_returned_since_is_not_sent(smtp_server, location, school_a, teacher_a,
                                                                item_type):
    loan = booking(location, school_a, teacher_a, item_type, pickup_day=MONDAY - datetime.timedelta(days=7),
                   return_day=MONDAY, status=ReservationStatus.HANDED_OUT)
    reminders_queue(today=TUESDAY)
    loan.status = ReservationStatus.RETURNED
    loan.save()
    assert deliver_due().skipped == 1
    assert not any("Überfällig" in message["Subject"] for message in smtp_server.messages())


@pytest.mark.django_db
def test_a_reminder_says_how_to_switch_off_and_one_click_does(client, smtp_server, location, school_a, teacher_a,
                                                              item_type):
    booking(location, school_a, teacher_a, item_type)
    reminders_queue(today=MONDAY)
    deliver_due()
    [message] = [message for message in smtp_server.wait_for(1) if message["To"] == teacher_a.email]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link in message.get_body(("plain",)).get_content()
    assert "alice" not in link.lower() and teacher_a.email not in link
    path = link.removeprefix("http://testserver")

    page = client.get(path)  # a link checker or a person: nothing changes yet
    assert page.status_code == 200 and 'id="unsubscribe"' in page.content.decode()
    teacher_a.refresh_from_db()
    assert teacher_a.mail_reminders

    answer = client.post(path, {"List-Unsubscribe": "One-Click"})  # what a mail client posts
    assert answer.status_code == 200 and 'id="unsubscribed"' in answer.content.decode()
    teacher_a.refresh_from_db()
    assert not teacher_a.mail_reminders
    assert client.post(path[:-5] + "xxxx/").status_code == 404


@pytest.mark.django_db
def test_confirmations_say_nothing_of_unsubscribing(smtp_server, teacher_a, item_type):
    factories.book(borrower=teacher_a, lines={item_type: 1})
    deliver_due()
    [message] = smtp_server.wait_for(1)
    assert message["List-Unsubscribe"] is None


@pytest.mark.django_db
def test_reminders_can_be_switched_on_and_off_on_the_account_page(client, teacher_a):
    client.force_login(teacher_a)
    client.post(reverse("profile:show"), {"contact_email": "", "language": "de"})
    teacher_a.refresh_from_db()
    assert not teacher_a.mail_reminders
    client.post(reverse("profile:show"), {"contact_email": "", "language": "de", "mail_reminders": "on"})
    teacher_a.refresh_from_db()
    assert teacher_a.mail_reminders


@pytest.mark.django_db(transaction=True)
def test_two_reminder_runs_at_once_queue_each_reminder_once(location, school_a, teacher_a, item_type):
    for week in range(30):
        booking(location, school_a, teacher_a, item_type, pickup_day=MONDAY - datetime.timedelta(days=7 * week + 7),
                return_day=MONDAY - datetime.timedelta(days=week), status=ReservationStatus.HANDED_OUT)
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    environment.update(DEBUG="true", DATABASE_URL=database_url())
    runs = [subprocess.Popen([sys.executable, "manage.py", "send_reminders", "--day", TUESDAY.isoformat()],
                             cwd=settings.BASE_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    assert Mail.objects.filter(kind=Mail.Kind.OVERDUE).count() == 30
    output = io.StringIO()
    call_command("send_reminders", "--day", TUESDAY.isoformat(), stdout=output)
    assert "30 overdue notice(s)" in output.getvalue()
    assert Mail.objects.filter(kind=Mail.Kind.OVERDUE).count() == 30


def test_send_reminders_refuses_a_bad_day():
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="--day"):
        call_command("send_reminders", "--day", "morgen")


@pytest.mark.django_db
def test_a_teacher_is_told_before_a_qualification_for_items_runs_out(smtp_server, location, teacher_a, teacher_b,
                                                                    settings):
    settings.MAIL_QUALIFICATION_NOTICE_DAYS = 30
    vr = factories.make_qualification(name="VR-Einweisung")
    unused = factories.make_qualification(name="Erste Hilfe")
    factories.make_item_type(location=location, name="VR-Koffer", slug="vr", required_qualification=vr)
    grant = factories.grant_qualification(user=teacher_a, qualification=vr, expires_on=MONDAY + datetime.timedelta(days=30))
    factories.grant_qualification(user=teacher_a, qualification=unused, expires_on=MONDAY + datetime.timedelta(days=10))
    factories.grant_qualification(user=teacher_b, qualification=vr, expires_on=MONDAY + datetime.timedelta(days=31))

    assert reminders_queue(today=MONDAY).qualifications == 1
    # The next day: the same one again (queued once), and Bea's, now 30 days ahead too.
    assert reminders_queue(today=MONDAY + datetime.timedelta(days=1)).qualifications == 2
    assert sorted(Mail.objects.filter(kind=Mail.Kind.QUALIFICATION_EXPIRING).values_list(
        "recipient__username", flat=True)) == sorted([teacher_a.username, teacher_b.username])
    Mail.objects.filter(recipient=teacher_b).delete()
    deliver_due()
    [message] = [message for message in smtp_server.wait_for(1) if "VR-Einweisung" in message["Subject"]]
    assert message["To"] == teacher_a.email and message["List-Unsubscribe"]
    assert "VR-Koffer" in message.get_body(("plain",)).get_content()

    # Renewed before the notice went out: it is not sent.
    reminders_queue(today=MONDAY + datetime.timedelta(days=2))
    Mail.objects.filter(kind=Mail.Kind.QUALIFICATION_EXPIRING).update(status=Mail.Status.QUEUED)
    grant.expires_on = MONDAY + datetime.timedelta(days=400)
    grant.save()
    assert deliver_due().skipped == 1


@pytest.mark.django_db
def test_the_counter_digest_goes_out_the_evening_before_to_staff_who_want_it(smtp_server, location, school_a,
                                                                            teacher_a, clerk, item_type, settings):
    settings.MAIL_DIGEST_HOUR = 17
    other_clerk = factories.make_user(username="otto", role=factories.Role.STAFF, mail_digest=False)
    other_clerk.locations.add(location)
    booking(location, school_a, teacher_a, item_type, pickup_day=TUESDAY)
    booking(location, school_a, teacher_a, item_type, pickup_day=MONDAY - datetime.timedelta(days=7),
            return_day=TUESDAY, status=ReservationStatus.HANDED_OUT)
    afternoon = timezone.make_aware(datetime.datetime.combine(MONDAY, datetime.time(16, 59)))
    evening = afternoon + datetime.timedelta(minutes=1)

    assert reminders_queue(today=MONDAY, now=afternoon).digests == 0
    assert reminders_queue(today=MONDAY, now=evening).digests == 1
    assert reminders_queue(today=MONDAY, now=evening + datetime.timedelta(hours=1)).digests == 1  # the same
    # Sunday evening: Monday is no counter day here (Tuesday and Wednesday).
    assert reminders_queue(today=MONDAY - datetime.timedelta(days=1),
                           now=evening - datetime.timedelta(days=1)).digests == 0
    digest = Mail.objects.get(kind=Mail.Kind.DAILY_DIGEST)
    assert digest.recipient == clerk and digest.data == {"location": location.pk, "day": TUESDAY.isoformat()}

    deliver_due(now=evening + datetime.timedelta(hours=1))
    [message] = [message for message in smtp_server.wait_for(1) if message["To"] == clerk.email]
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"].strip().startswith(location.name) and "1" in message["Subject"]
    assert "09:00" in text and "Alice Adler" in text and f"?tag={TUESDAY}" in text


@pytest.mark.django_db
def test_staff_switch_the_digest_on_their_account_page_and_teachers_do_not_see_it(client, clerk, teacher_a):
    client.force_login(clerk)
    assert 'name="mail_digest"' in client.get(reverse("profile:show")).content.decode()
    client.post(reverse("profile:show"), {"contact_email": "", "language": "de", "mail_reminders": "on"})
    clerk.refresh_from_db()
    assert not clerk.mail_digest
    client.force_login(teacher_a)
    assert 'name="mail_digest"' not in client.get(reverse("profile:show")).content.decode()


@pytest.mark.django_db
def test_a_booking_at_risk_from_an_overdue_loan_is_told_and_listed_on_the_agenda(
        client, smtp_server, location, school_a, teacher_a, teacher_b, school_b, clerk, settings):
    settings.MAIL_AT_RISK_DAYS = 7
    scarce = factories.make_item_type(location=location, name="Drohne", slug="drohne", units=2)
    booking(location, school_b, teacher_b, scarce, pickup_day=MONDAY - datetime.timedelta(days=14),
            return_day=MONDAY - datetime.timedelta(days=7), status=ReservationStatus.HANDED_OUT)  # overdue
    at_risk = booking(location, school_a, teacher_a, scarce, pickup_day=TUESDAY + datetime.timedelta(days=7))
    at_risk.lines.update(quantity=2)

    assert reminders_queue(today=TUESDAY).at_risk == 1
    assert reminders_queue(today=TUESDAY).at_risk == 1
    assert Mail.objects.filter(kind=Mail.Kind.AT_RISK).count() == 1
    with time_machine.travel(datetime.datetime.combine(TUESDAY, datetime.time(10), tzinfo=BERLIN), tick=False):
        deliver_due(now=timezone.now() + datetime.timedelta(days=400))
        client.force_login(clerk)
        page = client.get(reverse("frontend:counter", kwargs={"location": location.slug})).content.decode()
    [message] = [message for message in smtp_server.wait_for(1) if "gefährdet" in message.get_body(("plain",)).get_content()
                 or "Geräte sind womöglich" in message["Subject"]]
    text = message.get_body(("plain",)).get_content()
    assert message["To"] == teacher_a.email and "Drohne: 1 der 2 gebuchten sind sicher da" in text, text
    assert 'id="at-risk"' in page and at_risk.code in page
