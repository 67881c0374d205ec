"""The read side of the API: item types with their loan rules, availability per day, the
OpenAPI schema and its documentation page served by the app itself."""

import datetime

import pytest
import yaml
from django.urls import reverse
from django.utils import timezone

from lending.models import ReservationStatus
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_item_types_with_their_loan_rules_for_anyone(client, item_type, location):
    response = client.get(reverse("lending_api:item_type_list"))

    assert response.status_code == 200
    assert response.json()["count"] == 1
    [row] = response.json()["results"]
    assert row["slug"] == "vr-koffer" and row["location"] == location.slug
    assert (row["loanable_units"], row["max_loan_days"], row["min_lead_days"]) == (3, 28, 0)


def test_search_category_location_and_free_between_filter_the_item_types(client, location, school_a, teacher_a):
    vr = factories.make_category(name="Virtual Reality", slug="vr")
    headsets = factories.make_item_type(location=location, category=vr, name="VR-Brillen", slug="brillen", units=1)
    robots = factories.make_item_type(location=location, name="Ozobots", slug="ozobots", units=2)
    elsewhere = factories.make_item_type(location=factories.make_location(slug="nord"), name="Beamer", slug="beamer")
    pickup = factories.counter_day(at_least_days_ahead=7)
    factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={headsets: 1},
                               pickup_day=pickup, return_day=pickup + datetime.timedelta(days=1))
    url = reverse("lending_api:item_type_list")

    def slugs(**query):
        response = client.get(url, query)
        assert response.status_code == 200, response.json()
        return sorted(row["slug"] for row in response.json()["results"])

    assert slugs(search="ozo") == ["ozobots"]
    assert slugs(category="vr") == ["brillen"]
    assert slugs(location="nord") == ["beamer"]
    assert slugs(free_from=pickup.isoformat(), free_to=pickup.isoformat()) == ["beamer", "ozobots"]
    assert {robots.slug, elsewhere.slug} <= set(slugs())


@pytest.mark.parametrize("query", [
    {"free_from": "2027-03-02"}, {"free_from": "2027-03-10", "free_to": "2027-03-02"},
    {"free_from": "kein-datum", "free_to": "2027-03-02"}, {"category": "gibt-es-nicht"},
    {"free_from": "2027-01-01", "free_to": "2029-01-01"},
])
def test_bad_filters_are_a_400_in_the_one_error_shape(client, item_type, query):
    response = client.get(reverse("lending_api:item_type_list"), query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["detail"] and body["fields"]


def test_one_item_type_and_an_unknown_one(client, item_type):
    assert client.get(reverse("lending_api:item_type_detail", args=["vr-koffer"])).json()["name"] == "VR-Koffer"
    missing = client.get(reverse("lending_api:item_type_detail", args=["gibt-es-nicht"]))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_availability_per_day_with_held_free_and_counter_days(client, location, school_a, teacher_a, item_type):
    tuesday = factories.counter_day(weekday=2, at_least_days_ahead=7)
    factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 2},
                               pickup_day=tuesday, return_day=tuesday + datetime.timedelta(days=1),
                               status=ReservationStatus.CONFIRMED)
    monday = tuesday - datetime.timedelta(days=1)

    response = client.get(reverse("lending_api:availability"),
                          {"item_type": "vr-koffer", "from": monday.isoformat(), "to": tuesday.isoformat()})

    assert response.status_code == 200
    assert response.json() == [
        {"day": monday.isoformat(), "loanable": 3, "held": 0, "free": 3, "counter_day": False, "closure": ""},
        {"day": tuesday.isoformat(), "loanable": 3, "held": 2, "free": 1, "counter_day": True, "closure": ""},
    ]


@pytest.mark.parametrize("query", [
    {"item_type": "vr-koffer", "from": "0001-01-01", "to": "0001-01-02"},
    {"item_type": "vr-koffer", "from": "9999-12-30", "to": "9999-12-31"},
    {"item_type": "vr-koffer", "from": "2027-03-10", "to": "2027-03-01"},
    {"item_type": "vr-koffer", "from": "2027-01-01", "to": "2029-01-01"},
    {"item_type": "vr-koffer", "from": "gestern", "to": "2027-03-01"},
    {"from": "2027-03-01", "to": "2027-03-02"},
])
def test_bad_availability_queries_are_a_400(client, item_type, query):
    response = client.get(reverse("lending_api:availability"), query)
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_availability_of_an_unknown_item_type_is_a_404(client, db):
    today = timezone.localdate().isoformat()
    response = client.get(reverse("lending_api:availability"), {"item_type": "nichts", "from": today, "to": today})
    assert response.status_code == 404


def test_the_openapi_schema_describes_the_endpoints_and_the_error_shape(client, db):
    response = client.get(reverse("api_schema"))

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/item-types/", "/api/v1/item-types/{slug}/", "/api/v1/availability/",
            "/api/v1/reservations/"} <= set(schema["paths"])
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"code", "detail", "fields"}


def test_the_interactive_documentation_is_served_by_the_app(client, db):
    response = client.get(reverse("api_docs"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()


def test_the_catalogue_comes_in_pages(client, location):
    for number in range(3):
        factories.make_item_type(location=location, name=f"Kamera {number}", slug=f"kamera-{number}", units=1)
    url = reverse("lending_api:item_type_list")
    first = client.get(url, {"page_size": 2, "ordering": "name"}).json()
    second = client.get(url, {"page_size": 2, "ordering": "name", "page": 2}).json()
    assert first["count"] == 3
    assert [row["slug"] for row in first["results"] + second["results"]] == ["kamera-0", "kamera-1", "kamera-2"]
    assert second["next"] is None
    assert client.get(url, {"page": 3, "page_size": 2}).status_code == 404


@pytest.mark.parametrize("query", [{"free_from": "9999-12-30", "free_to": "9999-12-31"},
                                   {"free_from": "0001-01-01", "free_to": "0001-01-02"}])
def test_days_out_of_any_calendar_are_a_400(client, item_type, query):
    response = client.get(reverse("lending_api:item_type_list"), query)
    assert response.status_code == 400
    assert "free_from" in response.json()["fields"]
