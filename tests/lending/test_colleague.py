"""Pickup by a colleague: the borrower names another teacher of the booking's school, who sees the
booking, picks it up and returns it, but cannot change or cancel it; the counter sees who came and
whether they hold the qualification the items need for use."""

import datetime

import pypdfium2 as pdfium
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from lending.calendar import calendar_for_borrower, feed_version_for_borrower
from lending.exceptions import BookingError
from lending.models import Reservation, ReservationEvent, ReservationStatus
from lending.selectors import (
    desk_qualifications,
    reservation_get_for_user,
    reservations_of_borrower,
    reservations_visible_to,
)
from lending.services import (
    handover_assign_unit,
    handover_complete,
    reservation_cancel,
    reservation_change,
    reservation_name_colleague,
)
from lending.slips import loan_slip_pdf
from notifications.delivery import deliver_due
from notifications.models import Mail
from tests import factories
from tests.lending.conftest import TUESDAY, WEDNESDAY, travel_to


@pytest.fixture
def colleague(school_a):
    """Another teacher of Alice's school."""
    return factories.make_user(username="carla", schools=[school_a], first_name="Carla", last_name="Conrad")


@pytest.fixture
def booking(teacher_a, item_type):
    return factories.book(borrower=teacher_a, lines={item_type: 1})


def state():
    """What naming a colleague writes: the link on each booking, the events, the mails."""
    return (list(Reservation.objects.order_by("pk").values_list("pk", "colleague_id", "status")),
            ReservationEvent.objects.count(), Mail.objects.count())


def refused(call, **arguments):
    before = state()
    with pytest.raises(BookingError) as excinfo:
        call(**arguments)
    assert state() == before
    return excinfo.value.code


def test_the_borrower_names_a_colleague_who_is_told_by_mail(smtp_server, booking, teacher_a, colleague):
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=colleague)

    booking.refresh_from_db()
    assert booking.colleague == colleague
    event = ReservationEvent.objects.get(reservation=booking, action=ReservationEvent.Action.COLLEAGUE)
    assert event.actor == teacher_a and event.data == {"named": True}
    mail = Mail.objects.get(kind=Mail.Kind.COLLEAGUE_NAMED)
    assert mail.recipient == colleague
    assert deliver_due().sent == 2  # the confirmation to Alice, this one to Carla
    message = next(each for each in smtp_server.wait_for(2) if each["To"] == colleague.email)
    assert booking.code in message["Subject"] and "Alice Adler" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Alice Adler hat Sie benannt" in text and "Meine Buchungen" in text
    assert any(part.get_content_type() == "image/png" for part in message.walk())  # the QR code to show

    # Naming the same colleague again writes nothing; naming nobody writes the change, no mail.
    before = state()
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=colleague)
    assert state() == before
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=None)
    booking.refresh_from_db()
    assert booking.colleague is None
    assert Mail.objects.filter(kind=Mail.Kind.COLLEAGUE_NAMED).count() == 1


def test_a_colleague_mail_is_dropped_when_someone_else_was_named_before_it_went_out(
        smtp_server, booking, teacher_a, colleague, school_a):
    other = factories.make_user(username="dora", schools=[school_a])
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=colleague)
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=other)

    result = deliver_due()

    assert result.skipped == 1
    assert {message["To"] for message in smtp_server.wait_for(2)} == {teacher_a.email, other.email}


@pytest.mark.parametrize("who", ["other_school", "herself", "staff", "inactive"])
def test_only_another_active_teacher_of_the_bookings_school_can_be_named(booking, teacher_a, teacher_b, clerk,
                                                                         school_a, who):
    candidate = {
        "other_school": teacher_b, "herself": teacher_a,
        "staff": factories.make_user(username="sam", role=Role.STAFF, schools=[school_a]),
        "inactive": factories.make_user(username="ina", schools=[school_a], is_active=False),
    }[who]

    assert refused(reservation_name_colleague, reservation=booking, actor=teacher_a,
                   colleague=candidate) == "colleague_invalid"


def test_the_colleague_cannot_name_another_and_a_closed_booking_takes_nobody(booking, teacher_a, colleague,
                                                                             school_a):
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=colleague)
    other = factories.make_user(username="dora", schools=[school_a])

    assert refused(reservation_name_colleague, reservation=booking, actor=colleague,
                   colleague=other) == "colleague_not_allowed"
    reservation_cancel(reservation=booking, actor=teacher_a)
    assert refused(reservation_name_colleague, reservation=booking, actor=teacher_a,
                   colleague=other) == "colleague_not_allowed"


def test_staff_may_name_the_colleague_for_the_teacher(booking, clerk, colleague):
    reservation_name_colleague(reservation=booking, actor=clerk, colleague=colleague)

    assert Reservation.objects.get(pk=booking.pk).colleague == colleague


def test_the_colleague_sees_the_booking_but_cannot_change_or_cancel_it(booking, teacher_a, colleague, school_a):
    stranger = factories.make_user(username="eve", schools=[school_a])
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=colleague)

    assert reservation_get_for_user(user=colleague, code=booking.code) == booking
    assert [each.pk for each in reservations_of_borrower(borrower=colleague, today=booking.pickup_day)["upcoming"]] \
        == [booking.pk]
    assert list(reservations_visible_to(user=colleague)) == [booking]
    assert list(reservations_visible_to(user=stranger)) == []
    assert refused(reservation_cancel, reservation=booking, actor=colleague) == "not_the_borrower"
    assert refused(reservation_change, reservation=booking, actor=colleague,
                   return_day=booking.return_day + datetime.timedelta(days=7)) == "not_the_borrower"
    assert Reservation.objects.get(pk=booking.pk).status == ReservationStatus.CONFIRMED


def test_the_colleagues_calendar_feed_gains_the_booking_and_a_new_version(booking, teacher_a, colleague):
    now = timezone.now()
    before = feed_version_for_borrower(user=colleague, now=now)
    assert b"BEGIN:VEVENT" not in calendar_for_borrower(user=colleague, now=now)

    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=colleague)

    feed = calendar_for_borrower(user=colleague, now=timezone.now())
    assert feed.count(b"BEGIN:VEVENT") == 2 and booking.code.encode() in feed
    assert feed_version_for_borrower(user=colleague, now=timezone.now())[0] != before[0]


@pytest.fixture
def today_booking(time_machine, location, school_a, teacher_a, item_type, colleague):
    travel_to(time_machine, TUESDAY)
    reservation = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                             lines={item_type: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    return reservation


def test_the_hand_over_records_that_the_colleague_came(today_booking, teacher_a, colleague, clerk, item_type):
    handover_assign_unit(reservation=today_booking, unit=item_type.units.first(), actor=clerk)
    assert refused(handover_complete, reservation=today_booking, actor=clerk,
                   collected_by="colleague") == "collector_invalid"  # nobody named yet
    assert refused(handover_complete, reservation=today_booking, actor=clerk,
                   collected_by="the caretaker") == "collector_invalid"
    reservation_name_colleague(reservation=today_booking, actor=teacher_a, colleague=colleague)

    handover_complete(reservation=today_booking, actor=clerk, collected_by="colleague")

    event = ReservationEvent.objects.get(reservation=today_booking, action=ReservationEvent.Action.HANDED_OUT)
    assert event.data["collected_by"] == "colleague"
    handovers = list(today_booking.handovers.select_related("unit__item_type"))
    with translation.override("de"):
        pdf = loan_slip_pdf(reservation=Reservation.objects.get(pk=today_booking.pk), handovers=handovers,
                            booking_url="https://verleih.example.de/r/X")
    text = " ".join(pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range().split())
    assert "Abholung durch Carla Conrad (Kollegin/Kollege, für die ausleihende Lehrkraft)" in text
    assert "Alice Adler" in text


def test_the_counter_sees_whether_the_person_at_the_desk_holds_the_qualification(
        location, school_a, teacher_a, colleague, time_machine):
    travel_to(time_machine, TUESDAY)
    vr_training = factories.make_qualification(name="VR-Einweisung")
    goggles = factories.make_item_type(location=location, name="VR-Brillen", slug="vr-brillen",
                                       required_qualification=vr_training)
    plain = factories.make_item_type(location=location, name="Kabeltrommel", slug="kabel")
    factories.grant_qualification(user=teacher_a, qualification=vr_training)
    reservation = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                             lines={goggles: 1, plain: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    reservation = reservation_get_for_user(user=teacher_a, code=reservation.code)
    assert desk_qualifications(reservation, today=TUESDAY) == [
        {"qualification": vr_training, "item_types": ["VR-Brillen"], "borrower": True, "colleague": None}]

    reservation_name_colleague(reservation=reservation, actor=teacher_a, colleague=colleague)
    reservation = reservation_get_for_user(user=teacher_a, code=reservation.code)
    assert desk_qualifications(reservation, today=TUESDAY)[0]["colleague"] is False
    factories.grant_qualification(user=colleague, qualification=vr_training)
    assert desk_qualifications(reservation, today=TUESDAY)[0]["colleague"] is True


def test_the_purge_forgets_the_colleague_with_the_borrower(location, school_a, teacher_a, colleague, item_type):
    old = factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                                     pickup_day=datetime.date(2020, 3, 3), return_day=datetime.date(2020, 3, 4),
                                     status=ReservationStatus.RETURNED)
    Reservation.objects.filter(pk=old.pk).update(colleague=colleague)

    call_command("purge_personal_data", "--days", "365")

    old.refresh_from_db()
    assert old.borrower is None and old.colleague is None


# Pages -------------------------------------------------------------------------------------------


def test_the_borrower_names_a_colleague_on_the_booking_page(client, booking, teacher_a, colleague, teacher_b):
    client.force_login(teacher_a)
    page = client.get(reverse("frontend:booking_detail", args=[booking.code]), HTTP_ACCEPT_LANGUAGE="de")
    html = page.content.decode()
    assert 'name="colleague"' in html and "Carla Conrad" in html and "Bob Berg" not in html
    url = reverse("frontend:booking_colleague", args=[booking.code])

    foreign = client.post(url, {"colleague": teacher_b.pk})
    assert foreign.status_code == 400 and Reservation.objects.get(pk=booking.pk).colleague is None

    response = client.post(url, {"colleague": colleague.pk})
    assert response.status_code == 302 and Reservation.objects.get(pk=booking.pk).colleague == colleague
    assert "Carla Conrad darf sie für Sie abholen" in client.get(reverse("frontend:my_bookings")).content.decode()


def test_the_colleague_sees_the_booking_page_without_change_or_cancel(client, booking, teacher_a, colleague):
    reservation_name_colleague(reservation=booking, actor=teacher_a, colleague=colleague)
    client.force_login(colleague)

    page = client.get(reverse("frontend:booking_detail", args=[booking.code])).content.decode()
    mine = client.get(reverse("frontend:my_bookings")).content.decode()
    cancel = client.post(reverse("frontend:booking_cancel", args=[booking.code]))

    assert "Alice Adler" in page and booking.code in page
    assert reverse("frontend:booking_cancel", args=[booking.code]) not in page
    assert reverse("frontend:booking_change", args=[booking.code]) not in page
    assert 'name="colleague"' not in page
    assert "Sie holen sie für Alice Adler ab" in mine
    assert cancel.status_code == 302
    assert Reservation.objects.get(pk=booking.pk).status == ReservationStatus.CONFIRMED
    assert client.post(reverse("frontend:booking_colleague", args=[booking.code]),
                       {"colleague": ""}).status_code == 409


def test_the_counter_shows_the_colleague_and_records_who_came(client, today_booking, teacher_a, colleague, clerk,
                                                              item_type):
    reservation_name_colleague(reservation=today_booking, actor=teacher_a, colleague=colleague)
    handover_assign_unit(reservation=today_booking, unit=item_type.units.first(), actor=clerk)
    client.force_login(clerk)
    page = client.get(reverse("frontend:counter_booking", args=["mz-test", today_booking.code])).content.decode()
    assert "Carla Conrad" in page and 'name="collected_by"' in page

    response = client.post(reverse("frontend:counter_handover_confirm", args=["mz-test", today_booking.code]),
                           {"collected_by": "colleague"})

    assert response.status_code == 302
    event = ReservationEvent.objects.get(reservation=today_booking, action=ReservationEvent.Action.HANDED_OUT)
    assert event.data["collected_by"] == "colleague"
    assert "an die Kollegin/den Kollegen" in client.get(
        reverse("frontend:counter_booking", args=["mz-test", today_booking.code])).content.decode()


# API ---------------------------------------------------------------------------------------------


def test_the_api_lists_colleagues_names_one_and_the_colleague_cannot_cancel(client, booking, teacher_a,
                                                                            colleague, teacher_b):
    url = reverse("lending_api:reservation_colleague", args=[booking.code])
    client.force_login(teacher_a)
    assert client.get(url).json() == [{"id": colleague.pk, "name": "Carla Conrad"}]
    assert client.post(url, {"colleague": teacher_b.pk}, content_type="application/json").json()["code"] \
        == "colleague_invalid"
    assert client.post(url, {"colleague": 999999}, content_type="application/json").status_code == 400
    assert client.post(url, {}, content_type="application/json").status_code == 400

    named = client.post(url, {"colleague": colleague.pk}, content_type="application/json")

    assert named.status_code == 200 and named.json()["colleague"] == {"id": colleague.pk, "name": "Carla Conrad"}
    client.force_login(colleague)
    detail = client.get(reverse("lending_api:reservation_detail", args=[booking.code]))
    cancel = client.post(reverse("lending_api:reservation_cancel", args=[booking.code]),
                         content_type="application/json")
    assert detail.status_code == 200 and detail.json()["code"] == booking.code
    assert cancel.status_code == 403 and cancel.json()["code"] == "not_the_borrower"
    assert client.get(url).status_code == 409
    assert Reservation.objects.get(pk=booking.pk).status == ReservationStatus.CONFIRMED
