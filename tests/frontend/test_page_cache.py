"""The catalogue's list and an item's month calendar are rendered once per version and shown to
everyone asking the same; every change shows in the very next request; nothing personal is
cached."""

import datetime
import re

import pytest
from django.urls import reverse

from catalog.models import ItemType
from lending.services import reservation_cancel
from tests import factories
from tests.lending.conftest import MONDAY

CATALOGUE = reverse("frontend:catalogue")


@pytest.fixture(autouse=True)
def monday(time_machine):
    time_machine.move_to(MONDAY, tick=False)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def item_url(item_type, **query):
    path = reverse("frontend:item_detail", args=[item_type.slug])
    return path + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def main_of(response):
    """The page's main content without CSRF tokens (forms carry a fresh one every time)."""
    content = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content[content.index("<main"):content.index("</main>")])


def free_on(response, day):
    """The "x of y" text of one day cell, as the teacher reads it."""
    content = response.content.decode()
    cell = content[content.index(f'data-date="{day.isoformat()}"'):]
    free = cell[cell.index('class="day-free"'):]
    free = free[free.index('class="note-long"'):]
    return free[free.index(">") + 1:free.index("<")]


def test_a_second_look_at_the_catalogue_takes_one_query(client, item_type, django_assert_num_queries):
    first = client.get(CATALOGUE)
    with django_assert_num_queries(1):  # the version; list and cards come from the cache
        second = client.get(CATALOGUE)
    assert second.status_code == 200
    assert main_of(second) == main_of(first)


def test_a_second_look_at_an_item_takes_one_query(client, item_type, django_assert_num_queries):
    first = client.get(item_url(item_type))
    with django_assert_num_queries(1):  # the item with its counter; the calendar comes from the cache
        second = client.get(item_url(item_type))
    assert main_of(second) == main_of(first)


def test_a_booking_shows_in_the_very_next_request(client, item_type, teacher_a):
    pickup, back = datetime.date(2027, 3, 9), datetime.date(2027, 3, 10)
    month = item_url(item_type, month="2027-03")
    free_filter = {"free_from": pickup.isoformat(), "free_to": back.isoformat()}
    assert free_on(client.get(month), pickup) == "3 von 3"
    assert "3 im Zeitraum frei" in client.get(CATALOGUE, free_filter).content.decode()

    factories.book(borrower=teacher_a, lines={item_type.pk: 2}, pickup_day=pickup, return_day=back)

    assert free_on(client.get(month), pickup) == "1 von 3"
    assert "1 im Zeitraum frei" in client.get(CATALOGUE, free_filter).content.decode()


def test_a_booking_through_the_pages_shows_in_the_next_request(client, item_type, teacher_a):
    pickup, back = datetime.date(2027, 3, 9), datetime.date(2027, 3, 10)
    month = item_url(item_type, month="2027-03")
    client.force_login(teacher_a)
    assert free_on(client.get(month), pickup) == "3 von 3"
    client.post(reverse("frontend:basket_add", args=[item_type.slug]),
                {"quantity": 3, "pickup_day": pickup.isoformat(), "return_day": back.isoformat()})
    response = client.post(reverse("frontend:booking_create"), {
        "school": teacher_a.schools.first().pk, "pickup_day": pickup.isoformat(), "pickup_slot": "09:00",
        "return_day": back.isoformat(), "note": "",
    })
    assert response.status_code == 302
    assert free_on(client.get(month), pickup) == "0 von 3"


def rename_in_admin(admin_client, item_type, name):
    admin_page = reverse("admin:catalog_itemtype_change", args=[item_type.pk])
    form = admin_client.get(admin_page).context["adminform"].form
    data = {field: form[field].value() for field in form.fields if form[field].value() is not None}
    data.update({"name": name, "picture": "", "units-TOTAL_FORMS": 0, "units-INITIAL_FORMS": 0})
    data["required_qualification"] = ""
    response = admin_client.post(admin_page, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ItemType.objects.get(pk=item_type.pk).name == name


def test_an_item_changed_in_the_admin_shows_at_once(admin_client, client, item_type):
    assert "VR-Koffer" in client.get(CATALOGUE).content.decode()
    rename_in_admin(admin_client, item_type, "VR-Koffer (neu)")
    assert "VR-Koffer (neu)" in client.get(CATALOGUE).content.decode()


def test_a_unit_gone_to_maintenance_in_the_admin_shows_at_once(admin_client, client, item_type):
    assert free_on(client.get(item_url(item_type, month="2027-03")), datetime.date(2027, 3, 9)) == "3 von 3"
    unit = item_type.units.first()
    response = admin_client.post(reverse("admin:catalog_unit_change", args=[unit.pk]), {
        "item_type": item_type.pk, "asset_tag": unit.asset_tag, "serial_number": "", "contents": "",
        "status": "maintenance", "notes": "Akku defekt",
    })
    assert response.status_code == 302
    assert free_on(client.get(item_url(item_type, month="2027-03")), datetime.date(2027, 3, 9)) == "2 von 2"


def test_a_closure_entered_in_the_admin_shows_at_once(admin_client, client, item_type, location):
    day = datetime.date(2027, 3, 9)
    assert 'data-date="2027-03-09"' in client.get(item_url(item_type, month="2027-03")).content.decode()
    response = admin_client.post(reverse("admin:catalog_closure_add"), {
        "location": location.pk, "first_day": day.isoformat(), "last_day": day.isoformat(),
        "reason": "Betriebsausflug", "source": "staff",
    })
    assert response.status_code == 302
    content = client.get(item_url(item_type, month="2027-03")).content.decode()
    cell = content[content.index('data-date="2027-03-09"') - 60:content.index('data-date="2027-03-09"')]
    assert "day-closed" in cell


def test_each_language_has_its_own_copy(client, item_type):
    assert "Katalog" in client.get(CATALOGUE, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = client.get(CATALOGUE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Catalogue</h1>" in english and "1 item" in english


def test_nothing_personal_is_cached(client, item_type, teacher_a):
    client.force_login(teacher_a)
    signed_in = client.get(CATALOGUE).content.decode()
    assert "Abmelden" in signed_in
    client.logout()
    anonymous = client.get(CATALOGUE).content.decode()
    assert "Abmelden" not in anonymous and "Anmelden" in anonymous
    assert "Meine Buchungen" not in anonymous


def test_the_qualification_line_stays_personal(client, location, teacher_a, teacher_b):
    training = factories.make_qualification(name="VR-Schulung")
    item_type = factories.make_item_type(location=location, required_qualification=training)
    factories.grant_qualification(user=teacher_a, qualification=training)
    client.force_login(teacher_a)
    assert "Sie haben diese Qualifikation" in client.get(item_url(item_type)).content.decode()
    client.force_login(teacher_b)
    assert "Sie haben diese Qualifikation noch nicht." in client.get(item_url(item_type)).content.decode()


# The API's public lists are cached the same way -------------------------------------------------

ITEM_TYPES_API = reverse("lending_api:item_type_list")
AVAILABILITY_API = reverse("lending_api:availability")


def test_a_second_look_at_the_api_lists_takes_one_query(client, item_type, django_assert_num_queries):
    window = {"free_from": "2027-03-09", "free_to": "2027-03-10"}
    availability = {"item_type": item_type.slug, "from": "2027-03-09", "to": "2027-03-12"}
    for url, query in [(ITEM_TYPES_API, {}), (ITEM_TYPES_API, window), (AVAILABILITY_API, availability)]:
        first = client.get(url, query)
        with django_assert_num_queries(1):  # the version (or the item with its counter's version)
            second = client.get(url, query)
        assert second.status_code == 200
        assert second.json() == first.json()


def test_a_booking_shows_in_the_api_in_the_very_next_request(client, item_type, teacher_a):
    pickup, back = datetime.date(2027, 3, 9), datetime.date(2027, 3, 10)
    window = {"free_from": pickup.isoformat(), "free_to": back.isoformat()}
    days = {"item_type": item_type.slug, "from": pickup.isoformat(), "to": pickup.isoformat()}
    assert client.get(ITEM_TYPES_API, window).json()["results"][0]["free_in_window"] == 3
    assert client.get(AVAILABILITY_API, days).json()[0]["free"] == 3

    reservation = factories.book(borrower=teacher_a, lines={item_type.pk: 2}, pickup_day=pickup, return_day=back)

    assert client.get(ITEM_TYPES_API, window).json()["results"][0]["free_in_window"] == 1
    assert client.get(AVAILABILITY_API, days).json()[0]["free"] == 1

    reservation_cancel(reservation=reservation, actor=teacher_a)
    assert client.get(AVAILABILITY_API, days).json()[0]["free"] == 3


def test_an_item_renamed_in_the_admin_shows_in_the_api_at_once(admin_client, client, item_type):
    assert client.get(ITEM_TYPES_API).json()["results"][0]["name"] == item_type.name
    rename_in_admin(admin_client, item_type, "VR-Koffer (neu)")
    assert client.get(ITEM_TYPES_API).json()["results"][0]["name"] == "VR-Koffer (neu)"


def test_the_api_pages_links_name_the_host_asked(client, location):
    for number in range(3):
        factories.make_item_type(location=location, name=f"Kit {number}")
    first = client.get(ITEM_TYPES_API, {"page_size": 1}, HTTP_HOST="127.0.0.1").json()
    second = client.get(ITEM_TYPES_API, {"page_size": 1}, HTTP_HOST="localhost").json()
    assert first["next"].startswith("http://127.0.0.1/")
    assert second["next"].startswith("http://localhost/")
