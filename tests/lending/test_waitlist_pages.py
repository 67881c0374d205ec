"""The waiting list on the pages and in the API: one click from the refusal, the place in line and
the offer on My bookings, booking and declining, the counter's list reordered with a reason."""

import datetime

import pytest
from django.urls import reverse

from lending.models import Reservation, WaitlistEntry, WaitlistEvent
from lending.services import reservation_cancel, reservation_create
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY

SLOT = datetime.time(10, 0)
pytestmark = pytest.mark.usefixtures("monday")


@pytest.fixture
def booked_out(teacher_b, school_b, item_type):
    return reservation_create(borrower=teacher_b, school=school_b, pickup_day=NEXT_TUESDAY, pickup_slot=SLOT,
                              return_day=NEXT_WEDNESDAY, lines={item_type: 3})


def refused_booking(client, teacher_a, school_a, item_type, quantity=2):
    client.force_login(teacher_a)
    client.post(reverse("frontend:basket_add", args=[item_type.slug]), {"quantity": quantity})
    return client.post(reverse("frontend:booking_create"), {
        "school": school_a.pk, "pickup_day": NEXT_TUESDAY.isoformat(), "pickup_slot": "10:00",
        "return_day": NEXT_WEDNESDAY.isoformat(), "note": ""})


def test_the_refusal_offers_the_waiting_list_and_one_click_joins_it(
        client, booked_out, teacher_a, school_a, item_type, teacher_b):
    response = refused_booking(client, teacher_a, school_a, item_type)
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-error-code="not_enough_units"' in page
    assert reverse("frontend:waitlist_join") in page
    form = response.context["waitlist_request"]
    response = client.post(reverse("frontend:waitlist_join"), {
        "item_type": item_type.pk, "quantity": 2, "school": form["school"], "pickup_day": form["pickup_day"],
        "pickup_slot": form["pickup_slot"], "return_day": form["return_day"]})
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.borrower, entry.quantity, entry.pickup_day, entry.pickup_slot) == (teacher_a, 2, NEXT_TUESDAY, SLOT)
    page = client.get(reverse("frontend:my_bookings")).content.decode()
    assert "Platz 1 in der Warteliste." in page

    reservation_cancel(reservation=booked_out, actor=teacher_b)
    page = client.get(reverse("frontend:my_bookings")).content.decode()
    assert "Für Sie frei: reserviert bis" in page
    response = client.post(reverse("frontend:waitlist_book", args=[entry.pk]))
    reservation = Reservation.objects.get(borrower=teacher_a)
    assert response.status_code == 302 and response["Location"] == reverse("frontend:booking_detail",
                                                                           args=[reservation.code])
    # Booked once: a second click is refused with a message and a 409, and books nothing more.
    response = client.post(reverse("frontend:waitlist_book", args=[entry.pk]))
    assert response.status_code == 409
    assert Reservation.objects.filter(borrower=teacher_a).count() == 1


def test_bad_join_requests_are_refused_with_a_4xx_and_write_nothing(client, booked_out, teacher_a, school_a,
                                                                    item_type, school_b):
    client.force_login(teacher_a)
    url = reverse("frontend:waitlist_join")
    good = {"item_type": item_type.pk, "quantity": 1, "school": school_a.pk, "pickup_day": NEXT_TUESDAY.isoformat(),
            "pickup_slot": "10:00", "return_day": NEXT_WEDNESDAY.isoformat()}
    assert client.post(url, {**good, "quantity": "x"}).status_code == 400
    assert client.post(url, {**good, "item_type": 999999}).status_code == 400
    assert client.post(url, {**good, "school": school_b.pk}).status_code == 403
    assert client.post(url, {**good, "pickup_day": "2027-13-01"}).status_code == 400
    assert client.get(url).status_code == 405
    assert not WaitlistEntry.objects.exists()
    assert client.post(reverse("frontend:waitlist_book", args=["12345678901234567890"])).status_code == 404


def test_someone_elses_entry_is_not_found(client, booked_out, teacher_a, school_a, item_type, teacher_b):
    entry = factories.make_waitlist_entry(borrower=teacher_a, school=school_a, item_type=item_type,
                                          pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    client.force_login(teacher_b)
    assert client.post(reverse("frontend:waitlist_leave", args=[entry.pk])).status_code == 404
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


def test_the_counter_reorders_its_list_with_a_logged_reason(client, booked_out, teacher_a, school_a, item_type,
                                                           clerk, location, neighbour):
    first = factories.make_waitlist_entry(borrower=teacher_a, school=school_a, item_type=item_type,
                                          pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY, quantity=3)
    other = factories.make_user(username="dora", schools=[school_a], first_name="Dora", last_name="Diehl")
    second = factories.make_waitlist_entry(borrower=other, school=school_a, item_type=item_type,
                                           pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY, quantity=3)
    url = reverse("frontend:counter_waitlist", args=[location.slug])
    client.force_login(neighbour)
    assert client.get(url).status_code == 403
    client.force_login(clerk)
    page = client.get(url).content.decode()
    assert page.index("Dora") > page.index(teacher_a.first_name)
    response = client.post(url, {"entry": second.pk, "action": "up", "reason": ""})
    assert response.status_code == 400
    assert not WaitlistEvent.objects.filter(action=WaitlistEvent.Action.MOVED).exists()
    response = client.post(url, {"entry": second.pk, "action": "up", "reason": "Projektwoche"})
    assert response.status_code == 302
    assert list(WaitlistEntry.objects.values_list("pk", flat=True)) == [second.pk, first.pk]
    assert WaitlistEvent.objects.get(action=WaitlistEvent.Action.MOVED).data["reason"] == "Projektwoche"
    response = client.post(url, {"entry": first.pk, "action": "remove", "reason": "Doppelt"})
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.REMOVED


def test_the_api_joins_lists_books_and_leaves(client, booked_out, teacher_a, school_a, item_type, teacher_b):
    client.force_login(teacher_a)
    url = reverse("lending_api:waitlist")
    body = {"item_type": item_type.slug, "quantity": 2, "school": school_a.pk,
            "pickup_day": NEXT_TUESDAY.isoformat(), "pickup_slot": "10:00", "return_day": NEXT_WEDNESDAY.isoformat()}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    entry = response.json()
    assert (entry["status"], entry["place"], entry["item_type"]) == ("waiting", 1, item_type.slug)
    response = client.post(url, body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (409, "waitlist_duplicate")
    response = client.post(url, {**body, "quantity": 0}, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert WaitlistEntry.objects.count() == 1

    reservation_cancel(reservation=booked_out, actor=teacher_b)
    listed = client.get(url).json()
    assert [(item["id"], item["status"]) for item in listed] == [(entry["id"], "offered")]
    assert listed[0]["offer_expires_at"]
    response = client.post(reverse("lending_api:waitlist_book", args=[entry["id"]]))
    assert response.status_code == 201
    assert response.json()["lines"] == [{"item_type": item_type.slug, "quantity": 2}]
    response = client.delete(reverse("lending_api:waitlist_entry", args=[entry["id"]]))
    assert (response.status_code, response.json()["code"]) == (409, "entry_not_active")
    client.force_login(teacher_b)
    assert client.get(reverse("lending_api:waitlist_entry", args=[entry["id"]])).status_code == 404


def test_odd_ids_and_impossible_moves_are_4xx(client, booked_out, teacher_a, school_a, item_type, clerk, location):
    entry = factories.make_waitlist_entry(borrower=teacher_a, school=school_a, item_type=item_type,
                                          pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    client.force_login(teacher_a)
    assert client.post("/warteliste/%C2%B2/buchen/").status_code == 404
    assert client.post("/warteliste/%C2%B2/verlassen/").status_code == 404
    client.force_login(clerk)
    url = reverse("frontend:counter_waitlist", args=[location.slug])
    assert client.post(url, {"entry": "²", "action": "up", "reason": "x"}).status_code == 404
    response = client.post(url, {"entry": entry.pk, "action": "up", "reason": "Vorziehen"})
    assert response.status_code == 409
    assert not WaitlistEvent.objects.filter(action=WaitlistEvent.Action.MOVED).exists()
