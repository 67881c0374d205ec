"""Every way a booking is made, changed or cancelled queues its mail: the API, a walk-in at the
counter, and staff cancelling a teacher's booking with the reason she reads."""

import datetime

import pytest
from django.urls import reverse

from lending.models import Reservation, ReservationEvent, ReservationStatus
from notifications.delivery import deliver_due
from notifications.models import Mail
from tests import factories
from tests.lending.conftest import TUESDAY, WEDNESDAY, travel_to

pytestmark = pytest.mark.django_db


def kinds(reservation):
    return list(Mail.objects.filter(reservation=reservation).order_by("pk").values_list("kind", flat=True))


def api_book(client, school, item_type, quantity):
    pickup_day = factories.counter_day(at_least_days_ahead=3)
    return client.post(reverse("lending_api:reservation_create"), {
        "school": school.pk, "pickup_day": pickup_day.isoformat(), "pickup_slot": "09:00",
        "return_day": (pickup_day + datetime.timedelta(days=1)).isoformat(),
        "lines": [{"item_type": item_type.pk, "quantity": quantity}],
    }, content_type="application/json")


def text_of(message):
    return message.get_body(("plain",)).get_content()


def test_a_booking_made_changed_and_cancelled_through_the_api_is_mailed_each_time(
        client, smtp_server, teacher_a, school_a, item_type):
    client.force_login(teacher_a)
    created = api_book(client, school_a, item_type, 2)
    assert created.status_code == 201
    reservation = Reservation.objects.get(code=created.json()["code"])
    assert kinds(reservation) == [Mail.Kind.BOOKING_CONFIRMED]
    assert deliver_due().sent == 1
    confirmed = smtp_server.wait_for(1)[0]
    assert reservation.code in confirmed["Subject"] and "bestätigt" in confirmed["Subject"]
    assert "- 2 × VR-Koffer" in text_of(confirmed)

    changed = client.patch(reverse("lending_api:reservation_detail", args=[reservation.code]),
                           {"lines": [{"item_type": item_type.pk, "quantity": 1}]}, content_type="application/json")
    assert changed.status_code == 200 and deliver_due().sent == 1
    assert "- 1 × VR-Koffer" in text_of(smtp_server.wait_for(2)[1])
    cancelled = client.post(reverse("lending_api:reservation_cancel", args=[reservation.code]),
                            content_type="application/json")

    assert cancelled.status_code == 200
    assert kinds(reservation) == [Mail.Kind.BOOKING_CONFIRMED, Mail.Kind.BOOKING_CHANGED,
                                  Mail.Kind.BOOKING_CANCELLED]
    assert deliver_due().sent == 1
    assert "Sie haben diese Buchung storniert" in text_of(smtp_server.wait_for(3)[2])


def test_a_refused_api_booking_queues_nothing(client, teacher_a, school_a, item_type):
    client.force_login(teacher_a)
    response = api_book(client, school_a, item_type, 99)

    assert response.status_code == 409 and response.json()["code"] == "not_enough_units"
    assert not Reservation.objects.exists() and not Mail.objects.exists()


def test_staff_cancelling_through_the_api_must_say_why_and_the_teacher_reads_it(
        client, smtp_server, clerk, teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    client.force_login(clerk)
    url = reverse("lending_api:reservation_cancel", args=[reservation.code])

    silent = client.post(url, content_type="application/json")
    too_long = client.post(url, {"reason": "x" * 501}, content_type="application/json")
    assert silent.status_code == 400 and silent.json()["code"] == "cancel_reason_required"
    assert too_long.status_code == 400 and "reason" in too_long.json()["fields"]
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED
    assert kinds(reservation) == [Mail.Kind.BOOKING_CONFIRMED]

    response = client.post(url, {"reason": "Der Koffer ist nach einem Sturz in Reparatur."},
                           content_type="application/json")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert deliver_due().sent == 2
    cancel = smtp_server.wait_for(2)[1]
    assert "storniert" in cancel["Subject"] and cancel["To"] == teacher_a.email
    text = text_of(cancel)
    assert "Medienzentrum hat diese Buchung storniert" in text
    assert "Grund: Der Koffer ist nach einem Sturz in Reparatur." in text


def test_staff_cancel_a_teachers_booking_on_its_page_with_a_reason(client, smtp_server, clerk, teacher_a,
                                                                   item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    client.force_login(clerk)
    url = reverse("frontend:booking_cancel", args=[reservation.code])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert "Warum wird die Buchung storniert?" in page.content.decode()
    refused = client.post(url, {"reason": "  "}, HTTP_ACCEPT_LANGUAGE="de")
    assert refused.status_code == 400
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED
    assert not ReservationEvent.objects.filter(reservation=reservation, action="cancelled").exists()

    done = client.post(url, {"reason": "Die Ausleihstelle bleibt wegen Krankheit geschlossen."})

    assert done.status_code == 302 and done["Location"] == reverse("frontend:booking_detail", args=[reservation.code])
    event = ReservationEvent.objects.get(reservation=reservation, action="cancelled")
    assert event.actor == clerk and event.data == {"reason": "Die Ausleihstelle bleibt wegen Krankheit geschlossen."}
    assert deliver_due().sent == 2
    assert "Grund: Die Ausleihstelle bleibt wegen Krankheit geschlossen." in text_of(smtp_server.wait_for(2)[1])
    counter_page = client.get(reverse("frontend:counter_booking", args=[reservation.location.slug, reservation.code]))
    assert "Die Ausleihstelle bleibt wegen Krankheit geschlossen." in counter_page.content.decode()


def test_the_teachers_own_cancel_page_asks_for_no_reason(client, teacher_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1})
    client.force_login(teacher_a)

    page = client.get(reverse("frontend:booking_cancel", args=[reservation.code]))

    assert page.status_code == 200 and 'name="reason"' not in page.content.decode()


def test_a_walk_in_at_the_counter_is_confirmed_by_mail_with_todays_pickup(
        client, smtp_server, clerk, teacher_a, school_a, item_type, time_machine):
    travel_to(time_machine, TUESDAY)
    client.force_login(clerk)
    response = client.post(reverse("frontend:counter_walk_in", args=["mz-test"]), {
        "teacher": teacher_a.pk, "school": school_a.pk, "return_day": WEDNESDAY.isoformat(),
        f"quantity_{item_type.pk}": "1", "overrides": ["too_soon"],
    })

    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert kinds(reservation) == [Mail.Kind.BOOKING_CONFIRMED]
    assert deliver_due().sent == 1
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == teacher_a.email and reservation.code in message["Subject"]
    assert "Dienstag, 2. März 2027" in text_of(message)
