"""The booking API: the same service and refusal codes as the pages, as JSON."""

import datetime

import pytest
from django.urls import reverse

from lending.models import Reservation
from tests import factories

URL = reverse("lending_api:reservation_create")


@pytest.fixture
def api_client(client, teacher_a):
    client.force_login(teacher_a)
    return client


def payload(for_school, item_type, quantity=1, **changes):
    pickup_day = factories.counter_day(at_least_days_ahead=3)
    data = {
        "school": for_school.pk, "pickup_day": pickup_day.isoformat(), "pickup_slot": "09:00",
        "return_day": (pickup_day + datetime.timedelta(days=1)).isoformat(),
        "lines": [{"item_type": item_type.pk, "quantity": quantity}],
    }
    data.update(changes)
    return data


def test_a_teacher_books_through_the_api(api_client, school_a, item_type, teacher_a):
    response = api_client.post(URL, payload(school_a, item_type, 2), content_type="application/json")
    assert response.status_code == 201
    reservation = Reservation.objects.get()
    assert response.json()["code"] == reservation.code
    assert response.json()["lines"] == [{"item_type": "vr-koffer", "quantity": 2}]
    assert reservation.borrower == teacher_a


def test_a_refusal_answers_with_its_code_message_and_status(api_client, school_a, item_type):
    response = api_client.post(URL, payload(school_a, item_type, 4), content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_enough_units"
    assert response.json()["detail"]
    assert not Reservation.objects.exists()


def test_the_message_follows_the_requested_language(api_client, school_a, item_type):
    german = api_client.post(URL, payload(school_a, item_type, 4), content_type="application/json",
                             HTTP_ACCEPT_LANGUAGE="de")
    english = api_client.post(URL, payload(school_a, item_type, 4), content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="en")
    assert german.json()["detail"].startswith("Nicht genug")
    assert english.json()["detail"].startswith("Not enough")


def test_another_teachers_school_is_unknown_school(api_client, school_b, item_type):
    response = api_client.post(URL, payload(school_b, item_type), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "unknown_school"


@pytest.mark.parametrize("changes", [
    {"lines": []}, {"lines": [{"item_type": 1, "quantity": 0}]}, {"pickup_day": "morgen"},
    {"pickup_slot": "25:00"}, {"school": "x"}, {"lines": "viele"},
])
def test_malformed_input_is_a_400_and_writes_nothing(api_client, school_a, item_type, changes):
    response = api_client.post(URL, payload(school_a, item_type, **changes), content_type="application/json")
    assert response.status_code == 400
    assert not Reservation.objects.exists()


def test_an_unknown_item_type_is_quantity_invalid(api_client, school_a, item_type):
    data = payload(school_a, item_type)
    data["lines"] = [{"item_type": 999999, "quantity": 1}]
    response = api_client.post(URL, data, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "quantity_invalid"


def test_anonymous_requests_are_refused(client, school_a, item_type):
    response = client.post(URL, payload(school_a, item_type), content_type="application/json")
    assert response.status_code == 403
    assert not Reservation.objects.exists()


# Listing and cancelling -------------------------------------------------------------------------------


def test_teachers_list_their_own_bookings_and_staff_those_of_their_counters(client, teacher_a, teacher_b, clerk,
                                                                           school_a, school_b, item_type):
    own = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    other = factories.book(borrower=teacher_b, lines={item_type.pk: 1})
    url = reverse("lending_api:reservation_create")

    client.force_login(teacher_a)
    assert [row["code"] for row in client.get(url).json()["results"]] == [own.code]
    client.force_login(clerk)
    assert sorted(row["code"] for row in client.get(url).json()["results"]) == sorted([own.code, other.code])
    assert client.get(url, {"status": "cancelled"}).json()["results"] == []
    on_the_day = client.get(url, {"day": own.pickup_day.isoformat()}).json()["results"]
    assert sorted(row["code"] for row in on_the_day) == sorted([own.code, other.code])
    the_day_before = (own.pickup_day - datetime.timedelta(days=1)).isoformat()
    assert client.get(url, {"day": the_day_before}).json()["results"] == []
    assert client.get(url, {"status": "vielleicht"}).status_code == 400
    client.logout()
    assert client.get(url).status_code == 403


def test_a_teacher_cancels_through_the_api_and_cannot_cancel_anothers(client, teacher_a, teacher_b, item_type):
    own = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    other = factories.book(borrower=teacher_b, lines={item_type.pk: 1})
    client.force_login(teacher_a)

    # A POST without any body (curl -X POST), as a script would send it.
    response = client.generic("POST", reverse("lending_api:reservation_cancel", args=[own.code]))
    again = client.post(reverse("lending_api:reservation_cancel", args=[own.code]), content_type="application/json")
    foreign = client.post(reverse("lending_api:reservation_cancel", args=[other.code]), content_type="application/json")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert again.status_code == 409 and again.json()["code"] == "not_cancellable"
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    other.refresh_from_db()
    assert other.status == "confirmed"


def test_a_teacher_reads_and_changes_a_booking_but_not_its_status_or_borrower(client, teacher_a, teacher_b,
                                                                              item_type):
    own = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    other = factories.book(borrower=teacher_b, lines={item_type.pk: 1})
    client.force_login(teacher_a)
    url = reverse("lending_api:reservation_detail", args=[own.code])

    assert client.get(url).json()["code"] == own.code
    assert client.get(reverse("lending_api:reservation_detail", args=[other.code])).status_code == 404
    later = own.return_day + datetime.timedelta(days=7)
    response = client.patch(url, {"return_day": later.isoformat(), "status": "returned", "borrower": teacher_b.pk,
                                  "lines": [{"item_type": item_type.pk, "quantity": 2}]},
                            content_type="application/json")

    assert response.status_code == 200, response.json()
    own.refresh_from_db()
    assert (own.return_day, own.status, own.borrower) == (later, "confirmed", teacher_a)
    assert response.json()["lines"] == [{"item_type": "vr-koffer", "quantity": 2}]
    too_many = client.patch(url, {"lines": [{"item_type": item_type.pk, "quantity": 3}]},
                            content_type="application/json")
    assert too_many.status_code == 409 and too_many.json()["code"] == "not_enough_units"
    bad = client.patch(url, {"return_day": "bald"}, content_type="application/json")
    assert bad.status_code == 400 and "return_day" in bad.json()["fields"]


def test_a_counter_script_resolves_scans_like_the_counter_page(client, clerk, teacher_a, item_type, location):
    from lending.models import ReservationEvent

    booking = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    unit = item_type.units.first()
    url = reverse("lending_api:counter_scan")
    client.force_login(clerk)

    found = client.post(url, {"location": location.slug, "code": f"http://testserver/r/{booking.code}"},
                        content_type="application/json")
    label = client.post(url, {"location": location.slug, "code": unit.asset_tag}, content_type="application/json")
    at_desk = client.post(url, {"location": location.slug, "code": unit.asset_tag, "reservation": booking.code},
                          content_type="application/json")
    unknown = client.post(url, {"location": location.slug, "code": "GIBT-ES-NICHT"}, content_type="application/json")
    empty = client.post(url, {"location": location.slug, "code": "  "}, content_type="application/json")

    assert found.json() == {"step": "hand_over", "reservation": booking.code, "unit": None}
    assert ReservationEvent.objects.filter(reservation=booking, action="scanned", actor=clerk).count() == 1
    assert label.json() == {"step": "show_unit", "reservation": None, "unit": unit.asset_tag}
    assert at_desk.json() == {"step": "assign", "reservation": booking.code, "unit": unit.asset_tag}
    assert (unknown.status_code, unknown.json()["code"]) == (404, "scan_unknown")
    assert (empty.status_code, empty.json()["code"]) == (400, "scan_empty")


def test_only_staff_of_the_counter_scan_there(client, teacher_a, location):
    url = reverse("lending_api:counter_scan")
    client.force_login(teacher_a)
    response = client.post(url, {"location": location.slug, "code": "X"}, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    elsewhere = factories.make_user(role="staff")
    elsewhere.locations.add(factories.make_location())
    client.force_login(elsewhere)
    assert client.post(url, {"location": location.slug, "code": "X"}, content_type="application/json").status_code == 403


@pytest.fixture
def at_the_counter(time_machine, client, clerk, location, school_a, teacher_a, item_type):
    """Tuesday at the counter: Alice's booking of two VR cases is due for pickup."""
    from tests.lending.conftest import NEXT_WEDNESDAY, TUESDAY, travel_to

    travel_to(time_machine, TUESDAY)
    client.force_login(clerk)
    booking = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                         lines={item_type: 2}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    return booking, list(item_type.units.order_by("pk"))


def post(client, name, data, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(reverse(f"lending_api:{name}"), data, content_type="application/json", headers=headers)


def test_a_retried_hand_over_counts_once(client, location, at_the_counter):
    from lending.models import Handover, UnitEvent

    booking, units = at_the_counter
    data = {"location": location.slug, "reservation": booking.code, "unit": units[0].asset_tag}

    first = post(client, "counter_handover", data, key="scan-0001")
    retried = post(client, "counter_handover", data, key="scan-0001")
    fresh_key = post(client, "counter_handover", data, key="scan-0002")

    assert first.status_code == retried.status_code == 200 and first.json() == retried.json()
    assert Handover.objects.filter(reservation=booking).count() == 1
    assert UnitEvent.objects.filter(unit=units[0], action="handed_out").count() == 1
    assert (fresh_key.status_code, fresh_key.json()["code"]) == (409, "unit_already_assigned")
    no_key = post(client, "counter_handover", data)
    assert no_key.status_code == 400 and "idempotency_key" in no_key.json()["fields"]
    too_long = post(client, "counter_handover", data, key="x" * 101)
    assert too_long.status_code == 400
    assert too_long.json()["fields"]["idempotency_key"] != no_key.json()["fields"]["idempotency_key"]
    assert Handover.objects.filter(reservation=booking).count() == 1


def test_hand_over_and_return_through_the_api(client, location, at_the_counter):
    booking, units = at_the_counter
    post(client, "counter_handover", {"location": location.slug, "reservation": booking.code,
                                      "unit": units[0].asset_tag}, key="a")
    done = post(client, "counter_handover", {"location": location.slug, "reservation": booking.code,
                                             "unit": units[1].asset_tag, "complete": True}, key="b")
    assert done.json()["status"] == "handed_out"

    back = post(client, "counter_return", {"location": location.slug, "unit": units[0].asset_tag,
                                           "condition": "damaged", "note": "Linse zerkratzt"}, key="c")
    again = post(client, "counter_return", {"location": location.slug, "unit": units[0].asset_tag,
                                            "condition": "damaged", "note": "Linse zerkratzt"}, key="c")
    last = post(client, "counter_return", {"location": location.slug, "unit": units[1].asset_tag,
                                           "condition": "complete"}, key="d")

    assert back.json() == again.json() == {"unit": units[0].asset_tag, "condition": "damaged", "late": False,
                                           "reservation": booking.code, "reservation_status": "handed_out"}
    assert last.json()["reservation_status"] == "returned"
    units[0].refresh_from_db()
    assert units[0].status == "maintenance"
    reused = post(client, "counter_handover", {"location": location.slug, "reservation": booking.code,
                                               "complete": True}, key="c")
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")


def test_a_line_names_its_item_by_slug_as_the_catalogue_does(api_client, school_a, item_type, teacher_a):
    data = payload(school_a, item_type, 2)
    data["lines"] = [{"item_type": "vr-koffer", "quantity": 2}]
    response = api_client.post(URL, data, content_type="application/json")
    assert response.status_code == 201
    assert Reservation.objects.get().lines.get().item_type == item_type


@pytest.mark.parametrize("reference", ["gibt-es-nicht", "kein slug!", True, 2**63])
def test_an_unknown_or_malformed_item_reference_is_a_400(api_client, school_a, item_type, reference):
    data = payload(school_a, item_type)
    data["lines"] = [{"item_type": reference, "quantity": 1}]
    response = api_client.post(URL, data, content_type="application/json")
    assert response.status_code == 400
    assert "item_type" in response.json()["fields"]["lines"]["0"]
    assert not Reservation.objects.exists()
