"""The authorization matrix: every API endpoint called by five people, and what each one gets.

- anonymous: not signed in, no token;
- teacher A: teaches at school A, has a loan out, a pickup today and a booking ahead at counter X
  (session);
- teacher B: teaches at school B, has nothing (session);
- staff X: works at counter X (read-write API token);
- staff Y: works at counter Y only, which has its own item (read-write API token).

For lists the test checks which objects each one sees, not only the status: a 200 that shows
another teacher's booking is as wrong as a 500. Each cell runs on fresh data, so a write in one
cell cannot change another's answer.
"""

import datetime

import pytest
from django.test import Client

from accounts.api_tokens import api_token_create
from accounts.models import Role
from lending.models import DamageReport, IdempotencyKey, Reservation, ReservationLine, ReservationStatus
from lending.services import damage_report_create
from tests import factories
from tests.lending.conftest import TUESDAY, counter_written, loan, travel_to, units  # noqa: F401 (fixtures)

LATER_RETURN = datetime.date(2027, 3, 30)  # a Tuesday, two weeks after the booking ahead is picked up
PERSONAS = ("anonymous", "teacher_a", "teacher_b", "staff_x", "staff_y")
API = "/api/v1"


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def world(location, school_a, school_b, teacher_a, teacher_b, clerk, item_type, loan):
    counter_y = factories.make_location(name="Medienzentrum Y", slug="mz-y")
    factories.make_item_type(location=counter_y, name="Kamera", slug="kamera", units=2)
    staff_y = factories.make_user(username="yvonne", role=Role.STAFF)
    staff_y.locations.add(counter_y)
    ahead = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=factories.counter_day(at_least_days_ahead=14, today=TUESDAY),
        return_day=factories.counter_day(at_least_days_ahead=21, today=TUESDAY),
    )
    today = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=TUESDAY, return_day=TUESDAY + datetime.timedelta(days=1),
    )
    # About the loan as a whole (no unit), so it can be settled while the units are still out.
    report = damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=None, kind="damage",
                                  description="Ein Kabel fehlt.")
    return {
        "ahead": ahead, "today": today, "loan": loan, "report": report, "item_type": item_type, "school_a": school_a,
        "out_unit": loan.handovers.first().unit, "shelf_unit": item_type.units.exclude(
            pk__in=loan.handovers.values("unit")).first(),
        "users": {"teacher_a": teacher_a, "teacher_b": teacher_b, "staff_x": clerk, "staff_y": staff_y},
    }


def client_for(persona, world):
    client = Client()
    if persona == "anonymous":
        return client
    user = world["users"][persona]
    if persona.startswith("staff"):
        _, raw = api_token_create(user=user, name="Matrix", scope="write")
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.force_login(user)
    return client


def codes(response):
    return {row["code"] for row in response.json()["results"]}


def new_booking(world):
    pickup_day = factories.counter_day(at_least_days_ahead=35, today=TUESDAY)
    return {"school": world["school_a"].pk, "pickup_day": pickup_day.isoformat(), "pickup_slot": "10:00",
            "return_day": (pickup_day + datetime.timedelta(days=1)).isoformat(),
            "lines": [{"item_type": world["item_type"].pk, "quantity": 1}]}


# name: (method, path(world), body(world) or None, expected statuses in PERSONAS order,
#        what the answer shows (world, response) for those who get a 200, or None)
ENDPOINTS = {
    "item types": ("get", lambda w: f"{API}/item-types/", None, (200, 200, 200, 200, 200),
                   lambda w, r: {row["slug"] for row in r.json()["results"]} == {"vr-koffer", "kamera"}),
    "item type": ("get", lambda w: f"{API}/item-types/vr-koffer/", None, (200, 200, 200, 200, 200),
                  lambda w, r: r.json()["slug"] == "vr-koffer"),
    "availability": ("get", lambda w: f"{API}/availability/?item_type=vr-koffer&from=2027-03-02&to=2027-03-03",
                     None, (200, 200, 200, 200, 200), lambda w, r: len(r.json()) == 2),
    "reservations": ("get", lambda w: f"{API}/reservations/", None, (403, 200, 200, 200, 200), {
        "teacher_a": lambda w, r: codes(r) == {w["ahead"].code, w["today"].code, w["loan"].code},
        "teacher_b": lambda w, r: codes(r) == set(),
        "staff_x": lambda w, r: codes(r) == {w["ahead"].code, w["today"].code, w["loan"].code},
        "staff_y": lambda w, r: codes(r) == set(),
    }),
    "book": ("post", lambda w: f"{API}/reservations/", new_booking, (403, 201, 403, 403, 403),
             lambda w, r: Reservation.objects.get(code=r.json()["code"]).borrower == w["users"]["teacher_a"]),
    "reservation": ("get", lambda w: f"{API}/reservations/{w['ahead'].code}/", None, (403, 200, 404, 200, 404),
                    lambda w, r: r.json()["code"] == w["ahead"].code),
    "change": ("patch", lambda w: f"{API}/reservations/{w['ahead'].code}/",
               lambda w: {"return_day": LATER_RETURN.isoformat()}, (403, 200, 404, 200, 404),
               lambda w, r: Reservation.objects.get(pk=w["ahead"].pk).return_day == LATER_RETURN),
    "cancel": ("post", lambda w: f"{API}/reservations/{w['ahead'].code}/cancel/", lambda w: {"reason": "Wartung"},
               (403, 200, 404, 200, 404),
               lambda w, r: Reservation.objects.get(pk=w["ahead"].pk).status == ReservationStatus.CANCELLED),
    "scan": ("post", lambda w: f"{API}/counter/scan/",
             lambda w: {"location": "mz-test", "code": w["out_unit"].asset_tag}, (403, 403, 403, 200, 403),
             lambda w, r: r.json()["step"] == "take_back"),
    "hand over": ("post", lambda w: f"{API}/counter/handover/",
                  lambda w: {"location": "mz-test", "reservation": w["today"].code, "unit": w["shelf_unit"].asset_tag,
                             "complete": True, "idempotency_key": "matrix-1"}, (403, 403, 403, 200, 403),
                  lambda w, r: r.json()["status"] == "handed_out"),
    "take back": ("post", lambda w: f"{API}/counter/return/",
                  lambda w: {"location": "mz-test", "unit": w["out_unit"].asset_tag, "condition": "complete",
                             "idempotency_key": "matrix-2"}, (403, 403, 403, 200, 403),
                  lambda w, r: r.json()["unit"] == w["out_unit"].asset_tag),
    "units": ("get", lambda w: f"{API}/units/", None, (403, 403, 403, 200, 200), {
        "staff_x": lambda w, r: {row["asset_tag"] for row in r.json()["results"]}
        == set(w["item_type"].units.values_list("asset_tag", flat=True)),
        "staff_y": lambda w, r: {row["item_type"] for row in r.json()["results"]} == {"kamera"},
    }),
    "unit": ("get", lambda w: f"{API}/units/{w['out_unit'].asset_tag}/", None, (403, 403, 403, 200, 404),
             lambda w, r: r.json()["asset_tag"] == w["out_unit"].asset_tag),
    "schools": ("get", lambda w: f"{API}/schools/", None, (403, 200, 200, 200, 200), {
        "teacher_a": lambda w, r: [row["name"] for row in r.json()["results"]] == ["Gymnasium am Park"],
        "teacher_b": lambda w, r: [row["name"] for row in r.json()["results"]] == ["Grundschule Nord"],
        "staff_x": lambda w, r: r.json()["count"] == 2,
        "staff_y": lambda w, r: r.json()["count"] == 2,
    }),
    "school": ("get", lambda w: f"{API}/schools/{w['school_a'].pk}/", None, (403, 200, 404, 200, 200),
               lambda w, r: r.json()["name"] == "Gymnasium am Park"),
    "damage reports": ("get", lambda w: f"{API}/damage-reports/", None, (403, 403, 403, 200, 200), {
        "staff_x": lambda w, r: [row["id"] for row in r.json()["results"]] == [w["report"].pk],
        "staff_y": lambda w, r: r.json()["results"] == [],
    }),
    "damage report": ("get", lambda w: f"{API}/damage-reports/{w['report'].pk}/", None, (403, 403, 403, 200, 404),
                      lambda w, r: r.json()["id"] == w["report"].pk),
    "settle": ("patch", lambda w: f"{API}/damage-reports/{w['report'].pk}/",
               lambda w: {"resolution": "repair", "compensation_amount": "12.50"}, (403, 403, 403, 200, 404),
               lambda w, r: DamageReport.objects.get(pk=w["report"].pk).status == DamageReport.Status.SETTLED),
}


def everything_written():
    """Bookings with their days, lines, hand-overs, unit states, damage reports, stored keys."""
    return (counter_written(), list(Reservation.objects.order_by("pk").values_list("return_day", flat=True)),
            ReservationLine.objects.count(), IdempotencyKey.objects.count())


def refused_in_one_shape(response):
    body = response.json()
    return set(body) == {"code", "detail", "fields"} and body["code"] and body["detail"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_person_gets_exactly_what_they_may(endpoint, persona, world):
    method, path, body, statuses, shows = ENDPOINTS[endpoint]
    expected = statuses[PERSONAS.index(persona)]
    client = client_for(persona, world)
    before = everything_written()

    response = getattr(client, method)(path(world), body(world) if body else None, content_type="application/json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert refused_in_one_shape(response)
        assert everything_written() == before, "a refused request changed something"
    check = shows.get(persona) if isinstance(shows, dict) else shows
    if expected < 300 and check is not None:
        assert check(world, response), response.content


def test_borrower_status_and_role_cannot_be_set_through_a_body(world, teacher_a, teacher_b):
    client = client_for("teacher_a", world)
    body = {**new_booking(world), "borrower": teacher_b.pk, "status": "handed_out", "role": "admin"}
    response = client.post(f"{API}/reservations/", body, content_type="application/json")
    assert response.status_code == 201
    booking = Reservation.objects.get(code=response.json()["code"])
    assert (booking.borrower, booking.status) == (teacher_a, ReservationStatus.CONFIRMED)

    changed = client.patch(f"{API}/reservations/{booking.code}/",
                           {"status": "returned", "borrower": teacher_b.pk, "school": world["school_a"].pk + 99},
                           content_type="application/json")
    assert changed.status_code == 200
    booking.refresh_from_db()
    assert (booking.borrower, booking.status, booking.school) == (teacher_a, ReservationStatus.CONFIRMED,
                                                                  world["school_a"])
    teacher_a.refresh_from_db()
    assert teacher_a.role == Role.TEACHER
