"""The account page: contact address and language, qualifications, the download of one's own
data, and deleting one's account (refused while something is on loan)."""

import datetime
import json

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from accounts.models import QualificationGrant, User
from accounts.services import AccountError, account_delete
from lending.models import (
    DamageReport,
    Handover,
    Reservation,
    ReservationEvent,
    ReservationStatus,
)
from lending.services import damage_report_create, handover_assign_unit
from tests import factories
from tests.lending.conftest import TUESDAY, loan, travel_to, units  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def content(response):
    return response.content.decode()


def test_the_urls_are_the_german_ones():
    assert reverse("profile:show") == "/konto/profil/"
    assert reverse("profile:data") == "/konto/profil/daten.json"
    assert reverse("profile:delete") == "/konto/profil/loeschen/"


@pytest.mark.parametrize("name", ["profile:show", "profile:data", "profile:delete"])
def test_signed_out_visitors_are_sent_to_sign_in(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# The page and the contact settings -----------------------------------------------------------------


def test_it_shows_name_role_schools_and_the_contact_address(client, teacher_a, school_a):
    teacher_a.contact_email = "alice.adler@schule.example"
    teacher_a.save()
    client.force_login(teacher_a)

    page = content(client.get(reverse("profile:show")))

    assert "Alice Adler" in page
    assert school_a.name in page
    assert 'value="alice.adler@schule.example"' in page
    assert reverse("profile:data") in page and reverse("profile:delete") in page


def test_it_saves_the_contact_address_and_the_language(client, teacher_a):
    client.force_login(teacher_a)

    response = client.post(reverse("profile:show"), {"contact_email": " alice@schule.example ", "language": "en"})

    assert response.status_code == 302
    teacher_a.refresh_from_db()
    assert (teacher_a.contact_email, teacher_a.language, teacher_a.contact_email_asked) == (
        "alice@schule.example", "en", True)
    assert teacher_a.notification_email == "alice@schule.example"


def test_an_empty_contact_address_means_the_sign_in_address(client, teacher_a):
    teacher_a.contact_email = "old@schule.example"
    teacher_a.save()
    client.force_login(teacher_a)

    client.post(reverse("profile:show"), {"contact_email": "", "language": ""})

    teacher_a.refresh_from_db()
    assert teacher_a.contact_email == "" and teacher_a.language == ""
    assert teacher_a.notification_email == teacher_a.email


@pytest.mark.parametrize("data", [
    {"contact_email": "keine-adresse", "language": "de"},
    {"contact_email": "a@b.example\nBcc: x@y.example", "language": "de"},
    {"contact_email": "alice@schule.example", "language": "klingonisch"},
    {"contact_email": "a" * 250 + "@schule.example", "language": "de"},
])
def test_bad_input_is_refused_with_400_and_nothing_is_saved(client, teacher_a, data):
    client.force_login(teacher_a)

    response = client.post(reverse("profile:show"), data)

    assert response.status_code == 400
    assert "field-error" in content(response)
    teacher_a.refresh_from_db()
    assert (teacher_a.contact_email, teacher_a.language, teacher_a.contact_email_asked) == ("", "", False)


def test_it_lists_qualifications_held_and_where_to_get_those_items_require(client, teacher_a, location):
    today = TUESDAY
    vr = factories.make_qualification(name="VR-Schulung")
    laser = factories.make_qualification(name="Lasercutter-Einweisung", where_offered="Werkstatt, donnerstags")
    drone = factories.make_qualification(name="Drohnenführerschein", where_offered="Medienzentrum, jeden Montag")
    factories.make_qualification(name="Nie verlangt", where_offered="Nirgends")
    for qualification in (vr, laser, drone):
        factories.make_item_type(location=location, units=1, required_qualification=qualification)
    factories.grant_qualification(user=teacher_a, qualification=vr, granted_on=today - datetime.timedelta(days=10),
                                  expires_on=today + datetime.timedelta(days=300))
    factories.grant_qualification(user=teacher_a, qualification=laser, granted_on=datetime.date(2025, 1, 1),
                                  expires_on=datetime.date(2026, 1, 1))
    client.force_login(teacher_a)

    page = content(client.get(reverse("profile:show")))

    assert "VR-Schulung" in page and "Lasercutter-Einweisung" in page
    assert "01.01.2026" in page  # the expired grant, with its expiry
    assert "Medienzentrum, jeden Montag" in page  # not held: where the training is
    assert "Werkstatt, donnerstags" in page  # expired: where to renew it
    assert "Nirgends" not in page  # no item requires it


# Download of one's own data -------------------------------------------------------------------------


@pytest.fixture
def projector(location):
    return factories.make_item_type(location=location, name="Beamer", slug="beamer", units=10)


@pytest.fixture
def history(teacher_a, teacher_b, projector, loan, units, clerk):
    """Teacher A: a loan out (handed out by the clerk) with a damage report, and a future booking;
    teacher B: a booking of their own."""
    report = damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=units[0], kind="damage",
                                  description="Linse zerkratzt")
    upcoming = factories.book(borrower=teacher_a, lines={projector.pk: 1})
    other = factories.book(borrower=teacher_b, lines={projector.pk: 1})
    return {"loan": loan, "report": report, "upcoming": upcoming, "other": other}


def test_the_download_is_an_attachment_with_the_users_own_data(client, teacher_a, school_a, clerk, history):
    teacher_a.contact_email = "alice@schule.example"
    teacher_a.save()
    vr = factories.make_qualification(name="VR-Schulung")
    factories.grant_qualification(user=teacher_a, qualification=vr, granted_on=datetime.date(2027, 1, 5))
    client.force_login(teacher_a)

    response = client.get(reverse("profile:data"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["username"] == "alice"
    assert data["account"]["contact_email"] == "alice@schule.example"
    assert [school["name"] for school in data["schools"]] == [school_a.name]
    assert data["qualifications"] == [{"name": "VR-Schulung", "granted_on": "2027-01-05", "expires_on": None}]
    bookings = {booking["code"]: booking for booking in data["reservations"]}
    assert set(bookings) == {history["loan"].code, history["upcoming"].code}
    loan_events = bookings[history["loan"].code]["events"]
    assert {"counter"} == {event["by"] for event in loan_events if event["action"] == "handed_out"}
    assert {"you"} == {event["by"] for event in loan_events if event["action"] == "damage_reported"}
    assert bookings[history["upcoming"].code]["lines"] == [{"item_type": "Beamer", "quantity": 1}]
    assert len(bookings[history["loan"].code]["handovers"]) == 2
    [report] = data["damage_reports"]
    assert (report["description"], report["reported_by"], report["status"]) == ("Linse zerkratzt", "you", "open")


def test_the_download_names_nobody_else(client, teacher_a, clerk, history):
    client.force_login(teacher_a)

    text = client.get(reverse("profile:data")).content.decode()

    for someone_else in ("clara", "Bob", "bob@example.org", history["other"].code):
        assert someone_else not in text
    assert "password" not in text and "secret" not in text


def test_the_download_takes_a_fixed_number_of_queries(client, teacher_a, projector, history,
                                                      django_assert_max_num_queries):
    for hour in range(10, 15):
        factories.book(borrower=teacher_a, lines={projector.pk: 1}, pickup_slot=datetime.time(hour, 0))
    client.force_login(teacher_a)

    with django_assert_max_num_queries(12):
        assert client.get(reverse("profile:data")).status_code == 200


# Deleting one's account -----------------------------------------------------------------------------


@pytest.fixture
def past_loan(location, school_a, teacher_a, item_type):
    """A loan teacher A returned last year, with a settled damage report they made."""
    reservation = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 11),
        status=ReservationStatus.RETURNED,
    )
    ReservationEvent.objects.create(reservation=reservation, actor=teacher_a, action=ReservationEvent.Action.CREATED)
    DamageReport.objects.create(reservation=reservation, kind="damage", description="Kratzer", reported_by=teacher_a,
                                source=DamageReport.Source.TEACHER, status=DamageReport.Status.SETTLED)
    return reservation


def test_the_confirmation_page_lists_the_bookings_it_cancels(client, teacher_a, item_type):
    upcoming = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    client.force_login(teacher_a)

    page = content(client.get(reverse("profile:delete")))

    assert upcoming.code in page
    assert f'action="{reverse("profile:delete")}"' in page


def test_deleting_cancels_future_bookings_and_keeps_past_loans_without_the_person(
        client, teacher_a, item_type, past_loan):
    upcoming = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    vr = factories.make_qualification(name="VR-Schulung")
    factories.grant_qualification(user=teacher_a, qualification=vr)
    client.force_login(teacher_a)

    response = client.post(reverse("profile:delete"))

    assert response.status_code == 302
    assert not User.objects.filter(username="alice").exists()
    assert not QualificationGrant.objects.filter(qualification=vr).exists()
    upcoming.refresh_from_db()
    past_loan.refresh_from_db()
    assert (upcoming.status, upcoming.borrower) == (ReservationStatus.CANCELLED, None)
    assert ReservationEvent.objects.filter(reservation=upcoming, action=ReservationEvent.Action.CANCELLED).exists()
    assert (past_loan.status, past_loan.borrower) == (ReservationStatus.RETURNED, None)
    assert ReservationEvent.objects.filter(reservation=past_loan, actor__isnull=True).count() == 1
    assert DamageReport.objects.get(reservation=past_loan).reported_by is None
    # Signed out: the account page asks to sign in again.
    assert client.get(reverse("profile:show")).status_code == 302


def reservation_state():
    return (list(Reservation.objects.order_by("pk").values_list("pk", "status", "borrower_id", "sequence")),
            ReservationEvent.objects.count(), User.objects.count())


def test_deletion_is_refused_while_something_is_on_loan(client, teacher_a, projector, loan):
    factories.book(borrower=teacher_a, lines={projector.pk: 1})
    client.force_login(teacher_a)
    before = reservation_state()

    page = content(client.get(reverse("profile:delete")))
    assert f'action="{reverse("profile:delete")}"' not in page
    response = client.post(reverse("profile:delete"))

    assert response.status_code == 409
    assert "on loan" in content(response)
    assert reservation_state() == before


def test_deletion_is_refused_while_a_unit_is_being_handed_out(teacher_a, clerk, item_type, units):
    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=TUESDAY,
                             return_day=TUESDAY + datetime.timedelta(days=1))
    handover_assign_unit(reservation=booking, unit=units[0], actor=clerk)
    before = reservation_state()

    with pytest.raises(AccountError) as refusal:
        account_delete(user=teacher_a)

    assert refusal.value.code == "on_loan"
    assert reservation_state() == before
    assert Handover.objects.filter(reservation=booking, returned_at__isnull=True).exists()


def test_deletion_is_refused_while_a_damage_report_of_a_loan_is_open(client, teacher_a, past_loan):
    DamageReport.objects.filter(reservation=past_loan).update(status=DamageReport.Status.OPEN)
    client.force_login(teacher_a)
    before = reservation_state()

    response = client.post(reverse("profile:delete"))

    assert response.status_code == 409
    assert reservation_state() == before


@pytest.mark.parametrize("persona", ["clerk", "admin_user"])
def test_staff_and_administrators_cannot_delete_themselves(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    assert reverse("profile:delete") not in content(client.get(reverse("profile:show")))
    response = client.post(reverse("profile:delete"))

    assert response.status_code == 403
    assert User.objects.filter(pk=user.pk).exists()
    with pytest.raises(AccountError) as refusal:
        account_delete(user=user)
    assert refusal.value.code == "staff_account"


def test_deleting_needs_a_post(client, teacher_a):
    client.force_login(teacher_a)
    client.get(reverse("profile:delete"))
    assert User.objects.filter(pk=teacher_a.pk).exists()


def test_no_key_to_a_user_can_block_deleting_one():
    """Deleting an account relies on every foreign key to User being SET_NULL or CASCADE."""
    blocking = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models() for field in model._meta.get_fields()
        if field.concrete and (field.many_to_one or field.one_to_one) and field.related_model is User
        and field.remote_field.on_delete not in (models.CASCADE, models.SET_NULL)
    ]
    assert blocking == []


def test_deleting_leaves_no_name_in_notes_or_the_admin_history(client, teacher_a, past_loan, clerk, admin_user):
    from django.contrib.admin.models import LogEntry

    from accounts.qualifications import qualification_grant

    Reservation.objects.filter(pk=past_loan.pk).update(note="Bitte bis 8 Uhr, Alice Adler")
    qualification_grant(actor=clerk, user=teacher_a, qualification=factories.make_qualification(name="VR-Schulung"),
                        granted_on=TUESDAY)
    assert LogEntry.objects.filter(object_repr__contains="Alice").exists()
    DamageReport.objects.filter(reservation=past_loan).update(status=DamageReport.Status.SETTLED)
    client.force_login(teacher_a)

    assert client.post(reverse("profile:delete")).status_code == 302

    past_loan.refresh_from_db()
    assert (past_loan.borrower, past_loan.note) == (None, "")
    assert not LogEntry.objects.filter(object_repr__contains="Alice").exists()


def test_a_clerks_download_holds_no_other_peoples_damage_reports(client, clerk, history, units):
    # The clerk takes down a report on the phone: it is about Alice's loan, so it is Alice's data.
    damage_report_create(reporter=clerk, reservation=history["loan"], unit_or_none=units[1], kind="loss",
                         description="Anruf der Schule: Koffer verloren")
    client.force_login(clerk)
    data = client.get(reverse("profile:data")).json()
    assert data["damage_reports"] == []
