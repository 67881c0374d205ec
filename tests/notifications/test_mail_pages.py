"""What staff and teachers see of the mails: the counter's booking page with Resend confirmation,
the teacher's account page when mails do not reach her, the admin's Retry, and the purge."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from notifications.delivery import deliver_due
from notifications.models import Mail
from tests import factories

pytestmark = pytest.mark.django_db


def booking_page(location, reservation):
    return reverse("frontend:counter_booking", kwargs={"location": location.slug, "code": reservation.code})


def test_the_counter_lists_the_bookings_mails_and_resends_the_confirmation(client, smtp_server, clerk, location,
                                                                          teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    deliver_due()
    client.force_login(clerk)

    page = client.get(booking_page(location, reservation)).content.decode()
    mails = page.split('<table class="mails">')[1].split("</table>")[0]
    local, domain = teacher_a.email.split("@")
    assert "Buchung bestätigt" in mails and f"{local[0]}…@{domain}" in mails and "zugestellt" in mails
    assert teacher_a.email not in mails  # masked

    response = client.post(reverse("frontend:counter_resend_confirmation",
                                   kwargs={"location": location.slug, "code": reservation.code}))
    assert response.status_code == 302 and response.url == booking_page(location, reservation)
    resent = Mail.objects.get(requested_by=clerk)
    assert (resent.kind, resent.status, resent.recipient) == (Mail.Kind.BOOKING_CONFIRMED, Mail.Status.QUEUED, teacher_a)
    assert deliver_due().sent == 1
    assert len(smtp_server.wait_for(2)) == 2
    assert "erneut gesendet" in client.get(booking_page(location, reservation)).content.decode()


def test_resending_is_for_the_counters_staff_only(client, teacher_a, neighbour, location, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    url = reverse("frontend:counter_resend_confirmation", kwargs={"location": location.slug, "code": reservation.code})
    for user in (teacher_a, neighbour):
        client.force_login(user)
        assert client.post(url).status_code in (403, 404)
    client.force_login(neighbour)
    assert client.get(url).status_code in (403, 404, 405)
    assert not Mail.objects.filter(requested_by__isnull=False).exists()


def test_the_account_page_says_when_mails_do_not_reach_the_teacher(client, smtp_server, teacher_a, item_type):
    teacher_a.email = "bounce.adler@example.org"
    teacher_a.save()
    factories.book(borrower=teacher_a, lines={item_type: 1})
    deliver_due()
    client.force_login(teacher_a)

    page = client.get(reverse("profile:show")).content.decode()
    assert 'id="mail-unreachable"' in page and "bounce.adler@example.org" in page

    # A new contact address: the warning is about the old one, so it goes.
    client.post(reverse("profile:show"), {"contact_email": "adler@example.org", "language": "de"})
    assert 'id="mail-unreachable"' not in client.get(reverse("profile:show")).content.decode()


def test_the_admin_retries_failed_mails(admin_client_for_mails, smtp_server, teacher_a, item_type):
    teacher_a.email = "bounce@example.org"
    teacher_a.save()
    factories.book(borrower=teacher_a, lines={item_type: 1})
    deliver_due()
    mail = Mail.objects.get()
    assert mail.status == Mail.Status.FAILED
    teacher_a.contact_email = "alice@example.org"
    teacher_a.save()

    response = admin_client_for_mails.post(reverse("admin:notifications_mail_changelist"), {
        "action": "retry", "_selected_action": [mail.pk]})

    assert response.status_code == 302
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == (Mail.Status.QUEUED, 0)
    assert deliver_due().sent == 1
    assert smtp_server.wait_for(1)[0]["To"] == "alice@example.org"
    assert admin_client_for_mails.get(reverse("admin:notifications_mail_changelist")).status_code == 200


@pytest.fixture
def admin_client_for_mails(client, admin_user):
    client.force_login(admin_user)
    return client


def test_purge_removes_old_sent_and_failed_mails_and_keeps_queued_ones(teacher_a, item_type, settings):
    settings.MAIL_RETENTION_DAYS = 90
    # Queued 91 days ago (the booking's date does not matter): delivered, failed, still queued.
    for status in (Mail.Status.SENT, Mail.Status.FAILED, Mail.Status.QUEUED):
        factories.book(borrower=teacher_a, lines={item_type: 1}).mails.update(status=status)
    Mail.objects.update(created_at=timezone.now() - datetime.timedelta(days=91))
    factories.book(borrower=teacher_a, lines={item_type: 1},
                   pickup_day=factories.counter_day(at_least_days_ahead=20)).mails.update(status=Mail.Status.SENT)

    output = io.StringIO()
    call_command("purge_personal_data", stdout=output)

    assert "2 sent or failed e-mail(s) older than 90 days: removed" in output.getvalue()
    assert sorted(Mail.objects.values_list("status", flat=True)) == [Mail.Status.QUEUED, Mail.Status.SENT]


def test_the_personal_data_export_lists_the_mails_without_their_bodies(smtp_server, teacher_a, item_type):
    from accounts.selectors import personal_data_export

    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    deliver_due()
    [mail] = personal_data_export(user=teacher_a)["emails"]
    assert (mail["kind"], mail["reservation"], mail["to"], mail["status"]) == (
        Mail.Kind.BOOKING_CONFIRMED, reservation.code, teacher_a.email, Mail.Status.SENT)
    assert reservation.code in mail["subject"] and set(mail) == {
        "kind", "reservation", "to", "subject", "queued_at", "status", "sent_at"}
