"""Booking mails, from the booking to what a real SMTP server receives, read back with Python's
`email` package: headers, both parts, the inline QR code (decoded by zxing-cpp) and the .ics."""

import datetime
import io
import re

import pytest
import zxingcpp
from django.db import transaction
from django.utils import timezone
from PIL import Image

from lending.calendar import calendar_for_reservation
from lending.exceptions import BookingError
from lending.services import reservation_cancel, reservation_change
from notifications.delivery import deliver_due
from notifications.models import Mail
from tests import factories
from tests.lending.calendar_readers import dateutil_read

pytestmark = pytest.mark.django_db


def parts(message):
    """(plain text, html, inline images by Content-ID, .ics attachments) of a parsed message."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    images = {part["Content-ID"].strip("<>"): part.get_content()
              for part in message.walk() if part.get_content_maintype() == "image"}
    calendars = [part.get_content().encode() if isinstance(part.get_content(), str) else part.get_content()
                 for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    return text, html, images, calendars


def qr_texts(png):
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_a_booking_is_confirmed_by_mail_with_its_qr_code_and_calendar(smtp_server, teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 2})
    assert Mail.objects.get().status == Mail.Status.QUEUED  # queued with the booking, not sent yet

    result = deliver_due()

    assert (result.sent, result.deferred, result.failed) == (1, 0, 0)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == teacher_a.email
    assert reservation.code in message["Subject"] and "bestätigt" in message["Subject"]
    assert f"{reservation.pickup_day.day}. " in message["Subject"]
    text, html, images, calendars = parts(message)
    assert "2 × " + item_type.name in text and reservation.code in text
    assert f"http://testserver/buchungen/{reservation.code}/" in text
    assert '<html lang="de">' in html and f'href="http://testserver/buchungen/{reservation.code}/"' in html
    # Nothing is loaded from another host: every image is one of the message's own parts.
    sources = re.findall(r'src="([^"]+)"', html)
    assert sources and all(source.startswith("cid:") and source[4:] in images for source in sources)
    assert qr_texts(images[sources[0][4:]]) == [f"http://testserver/r/{reservation.code}"]
    # The attachment is the booking's own .ics download, and another parser reads its instants.
    assert calendars == [calendar_for_reservation(reservation=reservation, base_url="http://testserver")]
    events = dateutil_read(calendars[0])
    assert len(events) == 2
    pickup_start = min(start for start, _end in events.values())
    assert pickup_start.date() == reservation.pickup_day
    mail = Mail.objects.get()
    assert (mail.status, mail.to, mail.attempts) == (Mail.Status.SENT, teacher_a.email, 1)
    assert mail.message_id == message["Message-ID"]


def test_a_teacher_who_reads_english_gets_english(smtp_server, teacher_a, item_type):
    teacher_a.language = "en"
    teacher_a.save()
    factories.book(borrower=teacher_a, lines={item_type: 1})
    deliver_due()
    [message] = smtp_server.wait_for(1)
    assert "confirmed" in message["Subject"]
    assert '<html lang="en">' in parts(message)[1]


def test_a_refused_or_rolled_back_booking_sends_nothing(smtp_server, teacher_a, item_type):
    with pytest.raises(BookingError):
        factories.book(borrower=teacher_a, lines={item_type: 99})
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.book(borrower=teacher_a, lines={item_type: 1})
        raise RuntimeError("the request failed after booking")

    assert not Mail.objects.exists()
    assert deliver_due().sent == 0
    assert smtp_server.messages() == []


def test_a_change_and_a_cancellation_are_mailed_with_the_updated_calendar(smtp_server, teacher_a, clerk, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    reservation = reservation_change(reservation=reservation, actor=teacher_a,
                                     return_day=reservation.return_day + datetime.timedelta(days=6))
    reservation = reservation_cancel(reservation=reservation, actor=clerk, reason="Der Beamer ist <defekt> & in Reparatur.")

    assert deliver_due().sent == 3
    confirmed, changed, cancelled = smtp_server.wait_for(3)
    assert "geändert" in changed["Subject"] and "storniert" in cancelled["Subject"]
    assert "Medienzentrum hat diese Buchung storniert" in parts(cancelled)[0]
    assert "Grund: Der Beamer ist <defekt> & in Reparatur." in parts(cancelled)[0]
    assert "Der Beamer ist &lt;defekt&gt; &amp; in Reparatur." in parts(cancelled)[1]
    calendar = parts(cancelled)[3][0].decode()
    assert calendar.count("STATUS:CANCELLED") == 2 and f"SEQUENCE:{reservation.sequence}" in calendar
    assert list(Mail.objects.order_by("pk").values_list("kind", flat=True)) == [
        Mail.Kind.BOOKING_CONFIRMED, Mail.Kind.BOOKING_CHANGED, Mail.Kind.BOOKING_CANCELLED]


def test_mails_wait_while_the_server_refuses_and_then_arrive_once(smtp_server, teacher_a, item_type, settings):
    settings.MAIL_RETRY_SECONDS = 0  # no waiting between attempts in the test
    factories.book(borrower=teacher_a, lines={item_type: 1})
    smtp_server.refuse()

    first = deliver_due()
    mail = Mail.objects.get()
    assert (first.sent, first.deferred) == (0, 1)
    assert (mail.status, mail.attempts) == (Mail.Status.QUEUED, 1) and mail.last_error.startswith("451")

    smtp_server.refuse(False)
    assert deliver_due().sent == 1
    assert deliver_due().sent == 0  # and never again
    assert len(smtp_server.wait_for(1)) == 1
    assert Mail.objects.get().status == Mail.Status.SENT


def test_a_refused_mail_waits_longer_after_each_attempt_and_fails_after_the_last(smtp_server, teacher_a, item_type,
                                                                                settings):
    settings.MAIL_RETRY_SECONDS, settings.MAIL_MAX_ATTEMPTS = 60, 3
    factories.book(borrower=teacher_a, lines={item_type: 1})
    smtp_server.refuse()
    now = Mail.objects.get().next_attempt_at
    waits = []
    for _attempt in range(3):
        deliver_due(now=now)
        mail = Mail.objects.get()
        if mail.status == Mail.Status.QUEUED:
            waits.append(mail.next_attempt_at - mail.claimed_at)
            # Not due before its time.
            assert deliver_due(now=mail.next_attempt_at - datetime.timedelta(seconds=30)).deferred == 0
            now = mail.next_attempt_at
    mail = Mail.objects.get()
    assert (mail.status, mail.attempts) == (Mail.Status.FAILED, 3)
    assert [round(wait.total_seconds()) for wait in waits] == [60, 120]
    assert smtp_server.messages() == []


def test_a_bounced_address_fails_at_once_and_no_address_fails_too(smtp_server, teacher_a, teacher_b, item_type):
    teacher_a.email = "bounce@example.org"
    teacher_a.save()
    teacher_b.email, teacher_b.contact_email = "", ""
    teacher_b.save()
    factories.book(borrower=teacher_a, lines={item_type: 1})
    factories.book(borrower=teacher_b, lines={item_type: 1})

    result = deliver_due()

    assert (result.sent, result.failed) == (0, 2)
    errors = dict(Mail.objects.values_list("recipient__username", "last_error"))
    assert errors[teacher_a.username].startswith("550") and errors[teacher_b.username] == "no e-mail address"
    assert smtp_server.messages() == []


def test_a_mail_that_cannot_be_written_fails_alone_and_the_queue_goes_on(smtp_server, teacher_a, item_type,
                                                                          caplog):
    # A notice whose data lost what it refers to (here: which qualification) cannot be written.
    broken = Mail.objects.create(kind=Mail.Kind.QUALIFICATION_EXPIRING, key="qualification:broken",
                                 recipient=teacher_a, data={"secret": "Inhalt der Mail"},
                                 next_attempt_at=timezone.now() - datetime.timedelta(minutes=1))
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})

    result = deliver_due()

    assert (result.sent, result.failed) == (1, 1)
    broken.refresh_from_db()
    assert broken.status == Mail.Status.FAILED and broken.last_error == "could not be written: KeyError"
    assert reservation.code in smtp_server.wait_for(1)[0]["Subject"]
    assert "Inhalt der Mail" not in caplog.text and f"mail {broken.pk}" in caplog.text


def test_the_contact_address_is_preferred(smtp_server, teacher_a, item_type):
    teacher_a.contact_email = "lea.kontakt@example.org"
    teacher_a.save()
    factories.book(borrower=teacher_a, lines={item_type: 1})
    deliver_due()
    assert smtp_server.wait_for(1)[0]["To"] == "lea.kontakt@example.org"


def test_a_delivery_is_confirmed_as_a_delivery_to_the_school(smtp_server):
    from lending.models import Fulfilment
    from lending.services import reservation_create

    tour = factories.make_delivering_location()
    vr = factories.make_item_type(location=tour, units=2, deliverable=True)
    school = factories.make_school_with_address(name="Gesamtschule Hofseite")
    teacher = factories.make_user(schools=[school])
    delivery_day = factories.counter_day(weekday=2, at_least_days_ahead=8)
    reservation = reservation_create(
        borrower=teacher, school=school, pickup_day=delivery_day, pickup_slot=None,
        return_day=delivery_day + datetime.timedelta(days=8), lines={vr.pk: 1}, fulfilment=Fulfilment.DELIVERY)

    deliver_due()

    [message] = smtp_server.wait_for(1)
    assert "bestätigt: Lieferung" in message["Subject"]
    text, html, _images, calendars = parts(message)
    for body in (text, html):
        assert "Lieferung" in body and "Gesamtschule Hofseite, Parkstraße 1, 44135 Dortmund" in body
        assert "Abholung an der Schule" in body and "Abholung:" not in body
    # The attachment's two events: the delivery and the collection, during the counter's hours.
    events = dateutil_read(calendars[0])
    assert sorted(start.date() for start, _end in events.values()) == [reservation.pickup_day,
                                                                      reservation.return_day]
