import datetime

import pytest
import time_machine
from django.urls import reverse

from tests import factories

# A Monday, so the counter days of the week are tomorrow (Tuesday) and the day after.
MONDAY = datetime.datetime(2027, 3, 1, 10, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(MONDAY, tick=False):
        yield


def url(item_type, **query):
    return reverse("frontend:item_detail", args=[item_type.slug]) + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def cells(response):
    return {cell["day"]: cell for week in response.context["weeks"] for cell in week if cell}


def test_it_shows_contents_rules_and_the_month(client, frozen, item_type):
    response = client.get(url(item_type))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ladekabel" in content
    assert response.context["month"] == datetime.date(2027, 3, 1)
    assert len(cells(response)) == 31


def test_it_marks_past_closed_and_non_counter_days(client, frozen, item_type, location):
    factories.make_closure(location=location, first_day=datetime.date(2027, 3, 9), reason="Betriebsausflug")
    days = cells(client.get(url(item_type)))
    assert days[datetime.date(2027, 3, 1)]["state"] == "no_counter"  # Monday, today
    assert days[datetime.date(2027, 3, 2)]["state"] == "open"        # Tuesday
    assert days[datetime.date(2027, 3, 4)]["state"] == "no_counter"  # Thursday
    assert days[datetime.date(2027, 3, 9)]["state"] == "closed"
    assert days[datetime.date(2027, 3, 9)]["reason"] == "Betriebsausflug"


def test_it_shows_the_free_units_per_day(client, frozen, item_type, teacher_a):
    factories.book(borrower=teacher_a, lines={item_type.pk: 2}, pickup_day=datetime.date(2027, 3, 9),
                   return_day=datetime.date(2027, 3, 10))
    days = cells(client.get(url(item_type)))
    assert days[datetime.date(2027, 3, 2)]["free"] == 3
    assert days[datetime.date(2027, 3, 9)]["free"] == 1
    assert days[datetime.date(2027, 3, 10)]["free"] == 1
    assert days[datetime.date(2027, 3, 16)]["free"] == 3


def test_picking_two_days_selects_a_period(client, frozen, item_type):
    first = client.get(url(item_type, month="2027-03", pickup="2027-03-09"))
    link = cells(first)[datetime.date(2027, 3, 17)]["link"]
    assert "pickup=2027-03-09" in link and "return=2027-03-17" in link
    second = client.get(url(item_type) + link)
    days = cells(second)
    assert days[datetime.date(2027, 3, 9)]["selected"] and days[datetime.date(2027, 3, 17)]["selected"]
    assert days[datetime.date(2027, 3, 12)]["in_range"]
    assert second.context["form"].initial == {"pickup_day": datetime.date(2027, 3, 9), "return_day": datetime.date(2027, 3, 17)}


def test_it_pages_between_months_but_not_into_the_past(client, frozen, item_type):
    response = client.get(url(item_type, month="2027-04"))
    assert response.context["previous_month"] == datetime.date(2027, 3, 1)
    assert response.context["next_month"] == datetime.date(2027, 5, 1)
    assert client.get(url(item_type, month="2027-03")).context["previous_month"] is None


def test_days_before_today_are_past(client, item_type):
    with time_machine.travel(datetime.datetime(2027, 3, 10, 10, 0), tick=False):
        days = cells(client.get(url(item_type)))
    assert days[datetime.date(2027, 3, 2)]["state"] == "past"
    assert days[datetime.date(2027, 3, 9)]["state"] == "past"
    assert days[datetime.date(2027, 3, 10)]["state"] == "open"
    assert "link" not in days[datetime.date(2027, 3, 9)]


@pytest.mark.parametrize("month", ["garbage", "2027-13", "-1", "99999-01", "0001-01", "2026-12"])
def test_it_falls_back_to_this_month_on_a_bad_or_past_month(client, frozen, item_type, month):
    response = client.get(url(item_type, month=month))
    assert response.status_code == 200
    assert response.context["month"] == datetime.date(2027, 3, 1)


def test_it_stops_at_the_last_month_a_loan_can_reach(client, frozen, item_type):
    # Booked at most 365 days ahead (pickup by 2028-02-29) for at most 28 days: March 2028 is last.
    response = client.get(url(item_type, month="9999-12"))
    assert response.status_code == 200
    assert response.context["month"] == datetime.date(2028, 3, 1)
    assert response.context["next_month"] is None


@pytest.mark.parametrize("pickup", ["2027-03-01", "2030-01-01", "0001-01-01", "kaputt"])
def test_a_pickup_day_outside_the_rules_is_not_taken(client, frozen, item_type, pickup):
    # min_lead_days is 0 in the factory, so today (a Monday) would pass; 2027-03-01 is not a
    # counter day but still inside the rules' range, the others are outside.
    response = client.get(url(item_type, pickup=pickup))
    assert response.status_code == 200
    expected = datetime.date(2027, 3, 1) if pickup == "2027-03-01" else None
    assert response.context["pickup_day"] == expected


def test_once_a_pickup_day_is_chosen_only_return_days_within_the_longest_loan_are_offered(client, frozen, location):
    item_type = factories.make_item_type(location=location, max_loan_days=7)
    days = cells(client.get(url(item_type, pickup="2027-03-09")))
    assert days[datetime.date(2027, 3, 10)]["not_selectable"] is None
    assert days[datetime.date(2027, 3, 16)]["not_selectable"] is None
    assert days[datetime.date(2027, 3, 17)]["not_selectable"] == "too_long"


def test_while_choosing_the_return_day_an_earlier_day_picks_a_new_pickup_day(client, frozen, item_type):
    days = cells(client.get(url(item_type, pickup="2027-03-09")))
    assert days[datetime.date(2027, 3, 3)]["not_selectable"] is None
    assert days[datetime.date(2027, 3, 3)]["link"] == "?month=2027-03&pickup=2027-03-03"


def test_an_unknown_item_is_404(client, db):
    assert client.get("/artikel/gibt-es-nicht/").status_code == 404


def test_it_needs_the_same_queries_with_many_bookings(client, frozen, item_type, teacher_a, django_assert_max_num_queries):
    with django_assert_max_num_queries(10) as few:
        client.get(url(item_type))
    for day in (2, 3, 9, 10, 16):
        factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=datetime.date(2027, 3, day),
                       return_day=datetime.date(2027, 3, day))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url(item_type)).status_code == 200


def test_days_inside_the_lead_time_say_why_they_cannot_be_chosen(client, frozen, location):
    item_type = factories.make_item_type(location=location, min_lead_days=8, max_advance_days=20)
    response = client.get(url(item_type))
    days = cells(response)
    assert days[datetime.date(2027, 3, 2)]["not_selectable"] == "too_soon"
    assert days[datetime.date(2027, 3, 3)]["not_selectable"] == "too_soon"
    assert days[datetime.date(2027, 3, 9)]["not_selectable"] is None
    assert days[datetime.date(2027, 3, 23)]["not_selectable"] == "too_far_ahead"
    content = response.content.decode()
    cell = content[content.index('data-date="2027-03-02"'):content.index('data-date="2027-03-03"')]
    assert "<a " not in cell
    assert "zu kurzfristig" in cell  # visible in the cell
    assert "mindestens 8 Tage vorher buchen" in cell  # and in full for screen readers
    assert 'aria-describedby="calendar-reasons"' in content
    legend = content[content.index('id="calendar-reasons"'):]
    assert "mindestens 8 Tage vor der Abholung" in legend and "09.03.2027" in legend
    assert "höchstens 20 Tage im Voraus" in legend


def test_a_month_without_such_days_has_no_explanation(client, frozen, item_type):
    content = client.get(url(item_type, month="2027-04")).content.decode()
    assert 'id="calendar-reasons"' not in content and "zu kurzfristig" not in content


def test_the_legend_lists_the_closures_of_the_month_with_their_reasons(client, frozen, item_type, location):
    """A phone shows closed days as "×" only; the legend says when and why the counter is closed,
    one line per run of days with one reason."""
    factories.make_closure(location=location, first_day=datetime.date(2027, 3, 9), reason="Betriebsausflug")
    factories.make_closure(location=location, first_day=datetime.date(2027, 3, 22),
                           last_day=datetime.date(2027, 4, 2), reason="Osterferien")
    response = client.get(url(item_type))
    assert response.context["closures_in_month"] == [
        {"first": datetime.date(2027, 3, 9), "last": datetime.date(2027, 3, 9), "reason": "Betriebsausflug"},
        {"first": datetime.date(2027, 3, 22), "last": datetime.date(2027, 3, 31), "reason": "Osterferien"},
    ]
    content = response.content.decode()
    legend = content[content.index('id="calendar-reasons"'):]
    assert "Geschlossen am 09.03.: Betriebsausflug" in legend
    assert "Geschlossen vom 22.03. bis 31.03.: Osterferien" in legend
    assert 'aria-describedby="calendar-reasons"' in content


def test_each_cell_has_its_words_and_the_short_form_a_phone_shows(client, frozen, item_type, location):
    factories.make_closure(location=location, first_day=datetime.date(2027, 3, 9), reason="Betriebsausflug")
    content = client.get(url(item_type)).content.decode()
    open_day = content[content.index('data-date="2027-03-02"'):content.index('data-date="2027-03-03"')]
    assert '<span class="note-long">3 von 3</span><span class="note-short" aria-hidden="true">3/3</span>' in open_day
    closed = content[content.index('data-date="2027-03-09"'):content.index('data-date="2027-03-10"')]
    assert '<span class="note-long">geschlossen</span><span class="note-short" aria-hidden="true">×</span>' in closed
    assert '<div class="calendar-box">' in content
