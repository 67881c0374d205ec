import datetime

import pytest
from django.urls import reverse

from tests import factories

URL = reverse("frontend:catalogue")


@pytest.fixture
def catalogue(location):
    vr = factories.make_category(name="Virtual Reality", slug="vr")
    coding = factories.make_category(name="Coding", slug="coding")
    return {
        "vr": factories.make_item_type(location=location, category=vr, name="VR-Koffer", slug="vr-koffer", units=1),
        "ozobot": factories.make_item_type(location=location, category=coding, name="Ozobot-Klassensatz", slug="ozobot", units=2),
        "paused": factories.make_item_type(
            location=location, category=coding, name="Bee-Bot", slug="bee-bot", units=1, paused=True,
            paused_reason="Akkus werden getauscht",
        ),
    }


def test_it_lists_items_by_category_for_anyone(client, catalogue):
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Virtual Reality" in content and "Coding" in content
    assert "VR-Koffer" in content and "Ozobot-Klassensatz" in content


def test_it_marks_paused_items_with_their_reason(client, catalogue):
    content = client.get(URL).content.decode()
    assert "Akkus werden getauscht" in content
    assert "is-paused" in content


def test_it_searches_names_and_descriptions(client, catalogue):
    response = client.get(URL, {"q": "ozobot"})
    assert list(_names(response)) == ["Ozobot-Klassensatz"]


def test_it_filters_by_category(client, catalogue):
    response = client.get(URL, {"category": "vr"})
    assert list(_names(response)) == ["VR-Koffer"]


def test_it_hides_items_not_free_for_the_whole_period(client, catalogue, teacher_a):
    pickup = factories.counter_day(at_least_days_ahead=7)
    factories.book(borrower=teacher_a, lines={catalogue["vr"].pk: 1}, pickup_day=pickup,
                   return_day=pickup + datetime.timedelta(days=1))
    # The period overlaps the booking only on its last day: the only VR case is not free.
    response = client.get(URL, {"free_from": (pickup - datetime.timedelta(days=5)).isoformat(),
                                "free_to": pickup.isoformat()})
    assert response.status_code == 200
    assert "VR-Koffer" not in set(_names(response))
    assert "Ozobot-Klassensatz" in set(_names(response))
    # A period after the return day finds it again.
    later = pickup + datetime.timedelta(days=7)
    response = client.get(URL, {"free_from": later.isoformat(), "free_to": later.isoformat()})
    assert "VR-Koffer" in set(_names(response))


def test_the_free_filter_counts_the_turnaround_buffer(client, location, teacher_a):
    item_type = factories.make_item_type(location=location, name="iPad-Koffer", slug="ipad", units=1, turnaround_days=3)
    pickup = factories.counter_day(at_least_days_ahead=7)
    factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=pickup, return_day=pickup)
    day_in_buffer = pickup + datetime.timedelta(days=2)
    response = client.get(URL, {"free_from": day_in_buffer.isoformat(), "free_to": day_in_buffer.isoformat()})
    assert "iPad-Koffer" not in set(_names(response))


@pytest.mark.parametrize("query", [
    {"free_from": "2027-02-10"},
    {"free_from": "2027-02-10", "free_to": "2027-02-01"},
    {"free_from": "kein-datum", "free_to": "2027-02-01"},
    {"free_from": "2027-01-01", "free_to": "2029-01-01"},
    {"category": "does-not-exist"},
    {"free_from": "9999-12-30", "free_to": "9999-12-31"},
    {"free_from": "0001-01-01", "free_to": "0001-01-02"},
    {"free_from": "2020-01-01", "free_to": "2020-01-02"},
])
def test_it_answers_bad_filters_with_a_400_and_a_message(client, catalogue, query):
    response = client.get(URL, query)
    assert response.status_code == 400
    assert 'class="form-errors"' in response.content.decode() or 'class="field-error"' in response.content.decode()


def test_it_needs_the_same_queries_for_many_items_and_bookings(client, location, teacher_a, django_assert_max_num_queries):
    for _ in range(3):
        factories.make_item_type(location=location, units=2)
    free_from = factories.counter_day(at_least_days_ahead=7)
    query = {"free_from": free_from.isoformat(), "free_to": (free_from + datetime.timedelta(days=7)).isoformat()}
    with django_assert_max_num_queries(10) as few:
        client.get(URL, query)
    item_types = [factories.make_item_type(location=location, units=3) for number in range(30)]
    for number, item_type in enumerate(item_types[:10]):
        factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=free_from,
                       pickup_slot=datetime.time(9 + number // 2, 0))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, query)
    assert response.status_code == 200


def _names(response):
    for category_items in response.context["categories"].values():
        for item_type in category_items:
            yield item_type.name


@pytest.fixture
def thirty(location):
    robots = factories.make_category(name="Robotik", slug="robotik")
    return [factories.make_item_type(location=location, category=robots, name=f"Roboter {number:02d}",
                                     slug=f"roboter-{number:02d}", units=1) for number in range(30)]


def test_it_shows_a_page_of_24_and_links_to_the_rest(client, thirty):
    first = client.get(URL)
    assert list(_names(first)) == [f"Roboter {number:02d}" for number in range(24)]
    content = first.content.decode()
    assert "30 Artikel" in content and "Seite 1 von 2" in content
    assert 'href="?page=2" rel="next"' in content
    second = client.get(URL, {"page": 2})
    assert list(_names(second)) == [f"Roboter {number:02d}" for number in range(24, 30)]
    assert 'href="?page=1" rel="prev"' in second.content.decode()


def test_the_page_links_keep_the_search_and_filters(client, thirty):
    free_from = factories.counter_day(at_least_days_ahead=7)
    query = {"q": "Roboter", "category": "robotik", "free_from": free_from.isoformat(),
             "free_to": free_from.isoformat()}
    content = client.get(URL, query).content.decode()
    assert (f'href="?q=Roboter&amp;category=robotik&amp;free_from={free_from.isoformat()}'
            f'&amp;free_to={free_from.isoformat()}&amp;page=2" rel="next"') in content
    second = client.get(URL, {**query, "page": 2})
    assert list(_names(second)) == [f"Roboter {number:02d}" for number in range(24, 30)]


@pytest.mark.parametrize("page, expected_first", [("abc", "Roboter 00"), ("0", "Roboter 24"), ("99", "Roboter 24")])
def test_a_page_number_out_of_range_shows_the_nearest_page(client, thirty, page, expected_first):
    response = client.get(URL, {"page": page})
    assert response.status_code == 200
    assert next(_names(response)) == expected_first


def test_one_page_has_no_page_links(client, catalogue):
    content = client.get(URL).content.decode()
    assert 'class="pagination"' not in content and "Seite 1 von" not in content
