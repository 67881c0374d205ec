"""The statistics in the API (issue 14): GET /api/v1/statistics/ and /api/v1/statistics/<table>/
(lending/statistics_api.py) over the report of lending/figures.py.

- Who may read which counters: anonymous callers and teachers are refused (403 in the API's one
  error shape, as on every other staff endpoint); counter staff read their own counters only;
  administrators read every counter (`locations: null`) or one; a staff API token reads too.
- What the answer holds: the period, the counters counted and every table with its columns,
  rows and total; the figures are those of statistics_report for the same period and counters,
  and those worked out by hand from a small dataset written here (`year_2026`).
- A bad query is a 400 in the error shape with a field or non-field message, never a 500.
- The OpenAPI schema (/api/schema/) documents both paths, and real answers validate against it.

Labels are taken from the report or the catalogue (gettext), never written out here.
"""

import copy
import datetime
from collections import Counter
from decimal import Decimal

import jsonschema
import pytest
import yaml
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from accounts.api_tokens import api_token_create
from accounts.models import Role, SchoolType
from lending.figures import (
    CANCELLATION_LEADS,
    OVERVIEW_FIGURES,
    TABLE_KEYS,
    Period,
    period_problem,
    statistics_report,
)
from lending.models import (
    DamageReport,
    Handover,
    RefusedRequest,
    ReservationEvent,
    ReservationStatus,
)
from tests import factories
from tests.lending.conftest import BERLIN, MONDAY

API = "/api/v1/statistics/"
NUMBER_KINDS = ("int", "percent", "decimal", "money")


@pytest.fixture(autouse=True)
def monday(time_machine):
    """Monday 1 March 2027: 2026 is over; the default year is 2027."""
    time_machine.move_to(MONDAY, tick=False)


def d(month, day, year=2026):
    return datetime.date(year, month, day)


def at(day, hour=12):
    return datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=BERLIN)


def lend(*, location, school, units, pickup_day, return_day, borrower=None):
    """A booking of `units` handed out on its pickup day and brought back on its return day,
    written straight through the ORM (the services refuse past days)."""
    reservation = factories.make_reservation(
        location=location, school=school, borrower=borrower, pickup_day=pickup_day, return_day=return_day,
        lines=dict(Counter(unit.item_type for unit in units)), status=ReservationStatus.RETURNED,
    )
    for unit in units:
        Handover.objects.create(reservation=reservation, unit=unit, handed_out_at=at(pickup_day, 9),
                                returned_at=at(return_day), return_condition="complete")
    return reservation


@pytest.fixture
def year_2026(location, neighbour_counter, school_a, school_b, teacher_a, teacher_b, item_type):
    """At the counter mz-test (VR-Koffer, three units):

    - 2026: Gymnasium am Park (teacher A) borrowed 2 units 10.–17. March (16 loan days);
      Grundschule Nord (teacher B) 1 unit 5.–12. May (8 loan days); both returned. Teacher A's
      booking for 2 June was not picked up; the one for 7 July was cancelled on 30 June (7 days
      ahead).
      One of the March units came back damaged; the school paid 12,50 EUR.
      So: 3 bookings, 2 loans, 3 units lent, 24 loan days, 2 schools and 2 teachers reached,
      1 no-show, 1 cancellation; 4 bookings made. Utilisation: 24 of 3 × 365 unit-days (2,2 %).
    - 2025: Gymnasium am Park borrowed 1 unit 11.–18. March (the year before: 1 loan).

    At the neighbouring counter mz-nachbar, which mz-test's staff never see: Realschule Fremdort
    borrowed one "Beamer" 10.–12. March 2026 (3 loan days).

    One qualification, granted 1 April 2026 (grants count at every counter).
    """
    vr = list(item_type.units.order_by("pk"))
    march = lend(location=location, school=school_a, borrower=teacher_a, units=vr[:2], pickup_day=d(3, 10),
                 return_day=d(3, 17))
    DamageReport.objects.create(unit=vr[0], reservation=march, handover=march.handovers.get(unit=vr[0]),
                                kind=DamageReport.Kind.DAMAGE, source=DamageReport.Source.COUNTER,
                                reported_at=at(d(3, 17)), status=DamageReport.Status.SETTLED,
                                resolution=DamageReport.Resolution.REPAIR, compensation_amount=Decimal("12.50"))
    lend(location=location, school=school_b, borrower=teacher_b, units=vr[2:], pickup_day=d(5, 5),
         return_day=d(5, 12))
    lend(location=location, school=school_a, borrower=teacher_a, units=vr[:1], pickup_day=d(3, 11, 2025),
         return_day=d(3, 18, 2025))
    factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                               pickup_day=d(6, 2), return_day=d(6, 9), status=ReservationStatus.NO_SHOW)
    cancelled = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                           lines={item_type: 1}, pickup_day=d(7, 7), return_day=d(7, 14),
                                           status=ReservationStatus.CANCELLED)
    event = ReservationEvent.objects.create(reservation=cancelled, action=ReservationEvent.Action.CANCELLED,
                                            actor=teacher_a)
    ReservationEvent.objects.filter(pk=event.pk).update(at=at(d(6, 30)))
    foreign_school = factories.make_school(name="Realschule Fremdort", school_type=SchoolType.REALSCHULE)
    beamer = factories.make_item_type(location=neighbour_counter, name="Beamer", slug="beamer", units=2)
    lend(location=neighbour_counter, school=foreign_school, units=list(beamer.units.order_by("pk")[:1]),
         pickup_day=d(3, 10), return_day=d(3, 12))
    factories.grant_qualification(user=teacher_a, qualification=factories.make_qualification(name="Drohnen"),
                                  granted_on=d(4, 1))
    return {"beamer": beamer, "foreign_school": foreign_school}


@pytest.fixture
def both_counters(location, neighbour_counter):
    """Counter staff who work at mz-test and mz-nachbar."""
    staff = factories.make_user(username="paula", role=Role.STAFF)
    staff.locations.add(location, neighbour_counter)
    return staff


def signed_in(client, user):
    client.force_login(user)
    return client


def get(client, path=API, **query):
    return client.get(path, query)


def table_path(key):
    return reverse("lending_api:statistics_table", args=[key])


def ok(response):
    assert response.status_code == 200, response.content
    return response.json()


def assert_refused(response, status, code=None):
    """A refusal in the API's one shape: {"code", "detail", "fields"}."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    assert body["code"] and body["detail"]
    if code is not None:
        assert body["code"] == code
    return body


def rows_by(table, column):
    return {row[column]: row for row in table["rows"]}


def de(text):
    with translation.override("de"):
        return str(text)


# Comparing the answer with the report ---------------------------------------------------------------


def assert_same_value(answer, expected, where):
    if isinstance(expected, Decimal):
        assert isinstance(answer, (int, float)) and not isinstance(answer, bool), (where, answer)
        assert answer == pytest.approx(float(expected), abs=1e-9), where
    elif isinstance(expected, datetime.date):
        assert answer == expected.isoformat(), where
    elif isinstance(expected, Promise):
        assert answer == str(expected), where
    elif isinstance(expected, bool) or expected is None:
        assert answer is expected, where
    elif isinstance(expected, (int, float)):
        assert answer == expected and not isinstance(answer, (bool, str)), (where, answer, expected)
    else:
        assert answer == expected, where


def assert_same_row(answer, expected, where):
    assert set(answer) == set(expected), where
    for key, value in expected.items():
        assert_same_value(answer[key], value, f"{where}[{key}]")


def assert_same_table(answer, table):
    """One table of the answer is `table` of the report, value by value."""
    assert answer["key"] == table.key
    assert (answer["title"], answer["note"]) == (str(table.title), str(table.note))
    assert answer["columns"] == [{"key": column.key, "label": str(column.label), "kind": column.kind}
                                 for column in table.columns]
    assert len(answer["rows"]) == len(table.rows), table.key
    for index, (row, expected) in enumerate(zip(answer["rows"], table.rows)):
        assert_same_row(row, expected, f"{table.key}.rows[{index}]")
    if table.total is None:
        assert answer["total"] is None, table.key
    else:
        assert_same_row(answer["total"], table.total, f"{table.key}.total")


def assert_answer_is_the_report(body, period, locations):
    with translation.override("de"):
        report = statistics_report(period=period, locations=locations)
        assert body["period"] == {"first_day": period.first_day.isoformat(), "last_day": period.last_day.isoformat()}
        assert list(body["tables"]) == list(TABLE_KEYS)
        for key in TABLE_KEYS:
            assert_same_table(body["tables"][key], report.tables[key])


# Who may read which counters ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [API, "/api/v1/statistics/overview/"])
def test_anonymous_callers_are_refused_like_at_every_staff_endpoint(client, year_2026, path):
    assert_refused(client.get(path, {"year": 2026}), 403, "not_authenticated")
    # The same answer as the other staff endpoints give.
    assert_refused(client.get(reverse("lending_api:unit_list")), 403, "not_authenticated")


@pytest.mark.parametrize("path", [API, "/api/v1/statistics/by_month/"])
def test_teachers_are_refused(client, teacher_a, year_2026, path):
    signed_in(client, teacher_a)
    assert_refused(client.get(path, {"year": 2026}), 403, "permission_denied")
    assert_refused(client.get(path, {"year": 2026, "location": "mz-test"}), 403, "permission_denied")


def test_staff_without_a_counter_are_refused(client, year_2026):
    nobody = factories.make_user(username="ohne-theke", role=Role.STAFF)
    signed_in(client, nobody)
    assert_refused(get(client, year=2026), 403)
    assert_refused(get(client, table_path("overview"), year=2026), 403)


def test_a_bad_token_is_refused_in_the_error_shape(client, year_2026):
    response = client.get(API, {"year": 2026}, headers={"Authorization": "Bearer tv_not-a-real-token"})
    body = assert_refused(response, 403)
    assert "WWW-Authenticate" not in response.headers
    assert "tables" not in body


def test_counter_staff_read_only_their_counters(client, clerk, year_2026):
    body = ok(get(signed_in(client, clerk), year=2026))

    assert body["locations"] == ["mz-test"]
    overview = dict(zip([key for key, _label in OVERVIEW_FIGURES], body["tables"]["overview"]["rows"]))
    # Only mz-test's figures: the Beamer loan at mz-nachbar is in none of them.
    assert (overview["bookings"]["value"], overview["loans"]["value"], overview["units_lent"]["value"],
            overview["loan_days"]["value"], overview["schools"]["value"]) == (3, 2, 3, 24, 2)
    assert [row["item_type"] for row in body["tables"]["by_item_type"]["rows"]] == ["VR-Koffer"]
    assert [row["item_type"] for row in body["tables"]["utilisation"]["rows"]] == ["VR-Koffer"]
    assert "Realschule Fremdort" not in {row["school"] for row in body["tables"]["by_school"]["rows"]}


def test_a_booking_at_another_counter_never_changes_their_numbers(client, clerk, admin_user, year_2026,
                                                                   neighbour_counter, school_a, teacher_a):
    signed_in(client, clerk)
    before = ok(get(client, year=2026))
    admin_before = ok(get(signed_in(Client(), admin_user), year=2026))

    # At mz-nachbar: a loan of a school that also borrows at mz-test (extended, one unit damaged
    # and paid for), a no-show, a cancellation, a refused request and a waiting-list entry.
    beamer = year_2026["beamer"]
    loan = lend(location=neighbour_counter, school=school_a, borrower=teacher_a, units=list(beamer.units.all()),
                pickup_day=d(9, 8), return_day=d(9, 15))
    ReservationEvent.objects.create(reservation=loan, action=ReservationEvent.Action.EXTENDED, actor=teacher_a)
    DamageReport.objects.create(unit=beamer.units.first(), reservation=loan, kind=DamageReport.Kind.THEFT,
                                source=DamageReport.Source.TEACHER, reported_at=at(d(9, 14)),
                                compensation_amount=Decimal("99.00"))
    RefusedRequest.objects.create(location=neighbour_counter, item_type=beamer, quantity=2, pickup_day=d(9, 8),
                                  return_day=d(9, 9), school_type=SchoolType.GYMNASIUM)
    factories.make_waitlist_entry(borrower=teacher_a, school=school_a, item_type=beamer, pickup_day=d(9, 8),
                                  return_day=d(9, 9))
    factories.make_reservation(location=neighbour_counter, school=school_a, borrower=teacher_a,
                               lines={beamer: 1}, pickup_day=d(10, 6), return_day=d(10, 7),
                               status=ReservationStatus.NO_SHOW)
    factories.make_reservation(location=neighbour_counter, school=school_a, borrower=teacher_a,
                               lines={beamer: 1}, pickup_day=d(11, 3), return_day=d(11, 4),
                               status=ReservationStatus.CANCELLED)

    assert ok(get(client, year=2026)) == before
    assert ok(get(client, table_path("by_school"), year=2026)) == {**before, "tables": {
        "by_school": before["tables"]["by_school"]}}
    # The same bookings do count for the administrator (the test would prove nothing otherwise).
    admin_after = ok(get(signed_in(Client(), admin_user), year=2026))
    assert admin_after != admin_before
    assert admin_after["tables"]["by_month"]["total"]["loans"] == admin_before["tables"]["by_month"]["total"]["loans"] + 1


def test_another_counters_slug_is_a_404_like_an_unknown_one(client, clerk, neighbour, year_2026):
    signed_in(client, clerk)
    other = assert_refused(get(client, year=2026, location="mz-nachbar"), 404, "not_found")
    unknown = assert_refused(get(client, year=2026, location="gibt-es-nicht"), 404, "not_found")
    assert other == unknown  # nothing tells a counter that exists from one that does not
    assert_refused(get(client, table_path("overview"), year=2026, location="mz-nachbar"), 404, "not_found")

    signed_in(client, neighbour)
    assert_refused(get(client, year=2026, location="mz-test"), 404, "not_found")


def test_staff_of_two_counters_read_both_or_one(client, both_counters, clerk, year_2026, location,
                                                 neighbour_counter):
    signed_in(client, both_counters)

    both = ok(get(client, year=2026))
    one = ok(get(client, year=2026, location="mz-test"))

    assert both["locations"] == ["mz-nachbar", "mz-test"]  # by the counters' names
    assert_answer_is_the_report(both, Period.year(2026), [location, neighbour_counter])
    assert one["locations"] == ["mz-test"]
    assert one == ok(get(signed_in(Client(), clerk), year=2026))


def test_administrators_read_every_counter_or_one(client, admin_user, year_2026, neighbour_counter):
    signed_in(client, admin_user)

    every = ok(get(client, year=2026))
    one = ok(get(client, year=2026, location="mz-nachbar"))

    assert every["locations"] is None
    assert_answer_is_the_report(every, Period.year(2026), None)
    assert every["tables"]["by_month"]["total"]["loans"] == 3  # mz-test's two and the Beamer
    assert one["locations"] == ["mz-nachbar"]
    assert_answer_is_the_report(one, Period.year(2026), [neighbour_counter])
    assert [row["item_type"] for row in one["tables"]["by_item_type"]["rows"]] == ["Beamer"]
    assert_refused(get(client, year=2026, location="gibt-es-nicht"), 404, "not_found")


@pytest.mark.parametrize("scope", ["read", "write"])
def test_a_staff_api_token_reads_the_statistics(client, clerk, year_2026, location, scope):
    _token, raw = api_token_create(user=clerk, name="Bericht", scope=scope)
    headers = {"Authorization": f"Bearer {raw}"}

    body = ok(client.get(API, {"year": 2026}, headers=headers))
    table = ok(client.get(table_path("reliability"), {"year": 2026}, headers=headers))

    assert body["locations"] == ["mz-test"]
    assert_answer_is_the_report(body, Period.year(2026), [location])
    assert list(table["tables"]) == ["reliability"]
    # The same as the session gets.
    assert body == ok(get(signed_in(Client(), clerk), year=2026))


def test_an_expired_token_is_refused(client, clerk, year_2026, time_machine):
    _token, raw = api_token_create(user=clerk, name="Kurz", scope="read", valid_days=1)
    time_machine.move_to(MONDAY + datetime.timedelta(days=2), tick=False)
    assert_refused(client.get(API, {"year": 2026}, headers={"Authorization": f"Bearer {raw}"}), 403)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_statistics_only_answer_get(client, clerk, year_2026, method):
    signed_in(client, clerk)
    response = getattr(client, method)(API, {}, content_type="application/json")
    assert_refused(response, 405)


# The answer's shape and figures ----------------------------------------------------------------------


def test_the_answer_has_the_period_the_counters_and_every_table(client, clerk, year_2026):
    body = ok(get(signed_in(client, clerk), year=2026))

    assert set(body) == {"period", "locations", "tables"}
    assert body["period"] == {"first_day": "2026-01-01", "last_day": "2026-12-31"}
    assert list(body["tables"]) == list(TABLE_KEYS)
    for key, table in body["tables"].items():
        assert set(table) == {"key", "title", "note", "columns", "rows", "total"}, key
        assert table["key"] == key
        assert isinstance(table["title"], str) and table["title"]
        assert isinstance(table["note"], str)
        assert table["columns"] and all(set(column) == {"key", "label", "kind"} for column in table["columns"])
        keys = [column["key"] for column in table["columns"]]
        assert len(set(keys)) == len(keys), key
        for row in table["rows"]:
            # Every row holds exactly the table's columns.
            assert set(row) == set(keys), (key, row)
            for column in table["columns"]:
                value = row[column["key"]]
                if column["kind"] in NUMBER_KINDS:
                    assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), \
                        (key, column, value)
                elif column["kind"] == "month":
                    assert datetime.date.fromisoformat(value).day == 1, (key, value)
                else:
                    assert isinstance(value, str), (key, column, value)
        if table["total"] is not None:
            assert set(table["total"]) <= set(keys), key
            assert keys[0] in table["total"]  # the total's label, in the first column


def test_the_figures_are_those_worked_out_by_hand(client, clerk, year_2026):
    with translation.override("de"):
        body = ok(get(signed_in(client, clerk), year=2026))
    tables = body["tables"]

    overview = dict(zip([key for key, _label in OVERVIEW_FIGURES], tables["overview"]["rows"]))
    assert [row["figure"] for row in overview.values()] == [de(label) for _key, label in OVERVIEW_FIGURES]
    assert {key: row["value"] for key, row in overview.items()} == {
        "bookings": 3, "loans": 2, "units_lent": 3, "loan_days": 24, "schools": 2, "teachers": 2,
        "no_shows": 1, "cancellations": 1, "extensions": 0, "refused": 0, "qualifications_granted": 1,
    }
    assert (overview["loans"]["previous"], overview["loans"]["change"]) == (1, 100)
    assert (overview["bookings"]["previous"], overview["bookings"]["change"]) == (1, 200)
    assert overview["no_shows"]["previous"] == 0 and overview["no_shows"]["change"] is None

    months = rows_by(tables["by_month"], "month")
    assert list(months) == [d(month, 1).isoformat() for month in range(1, 13)]
    assert {month: (row["bookings"], row["loans"], row["units_lent"], row["loan_days"])
            for month, row in months.items() if row["bookings"] or row["loans"]} == {
        "2026-03-01": (1, 1, 2, 16), "2026-05-01": (1, 1, 1, 8), "2026-06-01": (1, 0, 0, 0),
    }
    assert months["2026-07-01"]["bookings"] == 0  # the cancelled booking counts nowhere
    assert {key: tables["by_month"]["total"][key] for key in ("bookings", "loans", "units_lent", "loan_days")} \
        == {"bookings": 3, "loans": 2, "units_lent": 3, "loan_days": 24}

    kinds = rows_by(tables["by_school_type"], "school_type")
    gymnasium, grundschule = kinds[de(SchoolType.GYMNASIUM.label)], kinds[de(SchoolType.GRUNDSCHULE.label)]
    assert (gymnasium["loans"], gymnasium["loan_share"], gymnasium["schools"], gymnasium["loans_before"]) \
        == (1, 50, 1, 1)
    assert (grundschule["loans"], grundschule["loan_share"], grundschule["schools"], grundschule["teachers"]) \
        == (1, 50, 1, 1)
    assert kinds[de(SchoolType.REALSCHULE.label)]["loans"] == 0  # Realschule Fremdort borrowed elsewhere
    assert tables["by_school_type"]["total"]["schools"] == 2

    schools = rows_by(tables["by_school"], "school")
    assert set(schools) == {"Gymnasium am Park", "Grundschule Nord"}
    assert (schools["Gymnasium am Park"]["bookings"], schools["Gymnasium am Park"]["loans"],
            schools["Gymnasium am Park"]["loan_days"]) == (2, 1, 16)

    [vr] = tables["utilisation"]["rows"]
    assert (vr["item_type"], vr["location"], vr["units"], vr["unit_days"], vr["days_on_loan"]) \
        == ("VR-Koffer", "Medienzentrum Test", 3, 3 * 365, 24)
    assert vr["utilisation"] == pytest.approx(2.2)

    [lending] = tables["by_item_type"]["rows"]
    assert (lending["bookings"], lending["units_booked"], lending["loans"], lending["units_lent"]) == (3, 4, 2, 3)

    reliability = [row["value"] for row in tables["reliability"]["rows"]]
    assert reliability == [4, 1, 0, None, 0, 0, 1]  # made, not picked up, late, median, extensions, …
    shares = [row["share"] for row in tables["reliability"]["rows"]]
    assert shares[1] == pytest.approx(33.3) and shares[6] == pytest.approx(25.0)

    leads = [row["cancellations"] for row in tables["cancellations"]["rows"]]
    assert leads == [0, 0, 0, 1, 0, 0]  # 30 June for 7 July: 7–13 days before
    assert tables["cancellations"]["rows"][3]["lead"] == de(CANCELLATION_LEADS[3][1])
    assert tables["cancellations"]["total"]["cancellations"] == 1

    [damaged] = tables["damage"]["rows"]
    assert (damaged["item_type"], damaged["units"], damaged["damage_cases"], damaged["thefts"]) == ("VR-Koffer", 3, 1, 0)
    assert damaged["damage_rate"] == pytest.approx(33.33)  # damage shares have two places
    assert damaged["compensation_cases"] == 1 and damaged["compensation_sum"] == pytest.approx(12.5)
    assert tables["damage"]["total"]["compensation_sum"] == pytest.approx(12.5)

    assert [(row["qualification"], row["granted"]) for row in tables["qualifications"]["rows"]] == [("Drohnen", 1)]
    assert [(row["month"], row["granted"]) for row in tables["qualifications_by_month"]["rows"]] \
        == [("2026-04-01", 1)]


def test_the_numbers_are_those_of_the_report_for_the_same_period_and_counters(client, clerk, admin_user, year_2026,
                                                                               location, neighbour_counter):
    signed_in(client, clerk)
    for query, period in [
        ({"year": 2026}, Period.year(2026)),
        ({"year": 2025}, Period.year(2025)),
        ({"first_day": "2026-03-01", "last_day": "2026-05-31"}, Period(d(3, 1), d(5, 31))),
        ({"first_day": "2025-12-15", "last_day": "2027-02-28"}, Period(d(12, 15, 2025), d(2, 28, 2027))),
        ({}, Period.year(2027)),
    ]:
        assert_answer_is_the_report(ok(get(client, **query)), period, [location])
    signed_in(client, admin_user)
    assert_answer_is_the_report(ok(get(client, first_day="2026-03-10", last_day="2026-03-10")),
                                Period(d(3, 10), d(3, 10)), None)
    assert_answer_is_the_report(ok(get(client, year=2026, location="mz-test")), Period.year(2026), [location])


def test_without_a_query_the_answer_is_this_year(client, clerk, year_2026):
    body = ok(get(signed_in(client, clerk)))
    assert body["period"] == {"first_day": "2027-01-01", "last_day": "2027-12-31"}
    assert body["tables"]["by_month"]["total"]["bookings"] == 0


@pytest.mark.parametrize("key", TABLE_KEYS)
def test_one_table_is_just_that_table_of_the_whole_answer(client, clerk, year_2026, location, key):
    signed_in(client, clerk)
    whole = ok(get(client, year=2026))

    body = ok(get(client, table_path(key), year=2026))

    assert set(body) == {"period", "locations", "tables"}
    assert (body["period"], body["locations"]) == (whole["period"], whole["locations"])
    assert list(body["tables"]) == [key]
    assert body["tables"][key] == whole["tables"][key]
    with translation.override("de"):
        assert_same_table(body["tables"][key], statistics_report(period=Period.year(2026), locations=[location])[key])


@pytest.mark.parametrize("table", ["nope", "Overview", "by-month", "headline", "tables"])
def test_an_unknown_table_is_a_404(client, clerk, year_2026, table):
    signed_in(client, clerk)
    assert_refused(get(client, f"{API}{table}/", year=2026), 404, "not_found")


def test_an_unknown_table_is_a_404_before_the_query_is_read(client, clerk, year_2026):
    signed_in(client, clerk)
    assert_refused(get(client, f"{API}nope/", year="abc"), 404, "not_found")


def test_titles_and_labels_come_in_the_request_language(client, clerk, year_2026, location):
    signed_in(client, clerk)
    german = ok(client.get(API, {"year": 2026}, headers={"Accept-Language": "de"}))
    english = ok(client.get(API, {"year": 2026}, headers={"Accept-Language": "en"}))

    with translation.override("en"):
        report = statistics_report(period=Period.year(2026), locations=[location])
        for key in TABLE_KEYS:
            assert_same_table(english["tables"][key], report.tables[key])
    # The same numbers in either language.
    for key in TABLE_KEYS:
        for row_de, row_en in zip(german["tables"][key]["rows"], english["tables"][key]["rows"]):
            assert {k: v for k, v in row_de.items() if not isinstance(v, str)} \
                == {k: v for k, v in row_en.items() if not isinstance(v, str)}


def test_the_number_of_queries_does_not_grow_with_the_bookings(client, clerk, year_2026, location, school_a,
                                                               teacher_a, item_type, django_assert_max_num_queries):
    signed_in(client, clerk)
    with CaptureQueriesContext(connection) as few:
        ok(get(client, year=2026))
    units = list(item_type.units.order_by("pk"))
    for week in range(12):
        pickup = d(8, 3) + datetime.timedelta(days=7 * week)
        lend(location=location, school=school_a, borrower=teacher_a, units=units[:1], pickup_day=pickup,
             return_day=pickup + datetime.timedelta(days=2))

    with django_assert_max_num_queries(len(few.captured_queries)):
        body = ok(get(client, year=2026))

    assert body["tables"]["by_month"]["total"]["loans"] == 2 + 12


# Bad input -----------------------------------------------------------------------------------------------


BAD_QUERIES = [
    pytest.param({"year": "abc"}, "year", id="year-not-a-number"),
    pytest.param({"year": "1999"}, "year", id="year-before-2000"),
    pytest.param({"year": "0"}, "year", id="year-zero"),
    pytest.param({"year": "-2026"}, "year", id="year-negative"),
    pytest.param({"year": "99999"}, "year", id="year-five-digits"),
    pytest.param({"year": ""}, "year", id="year-empty"),
    pytest.param({"year": "2026.5"}, "year", id="year-fraction"),
    pytest.param({"year": "２０２６"}, "year", id="year-full-width-digits"),
    pytest.param({"year": "٢٠٢٦"}, "year", id="year-arabic-indic-digits"),
    pytest.param({"first_day": "２０２６-01-01", "last_day": "2026-03-31"}, "first_day", id="day-full-width-digits"),
    pytest.param({"year": "2030"}, "non_field_errors", id="year-too-far-ahead"),
    pytest.param({"year": "9999"}, "non_field_errors", id="year-9999"),
    pytest.param({"first_day": "2026-01-01"}, "non_field_errors", id="first-day-without-last-day"),
    pytest.param({"last_day": "2026-12-31"}, "non_field_errors", id="last-day-without-first-day"),
    pytest.param({"first_day": "2026-12-31", "last_day": "2026-01-01"}, "non_field_errors",
                 id="last-day-before-first-day"),
    pytest.param({"year": "2026", "first_day": "2026-01-01", "last_day": "2026-03-31"}, "non_field_errors",
                 id="year-and-days"),
    pytest.param({"year": "2026", "first_day": "2026-01-01"}, "non_field_errors", id="year-and-first-day"),
    pytest.param({"first_day": "2014-01-01", "last_day": "2024-12-31"}, "non_field_errors", id="eleven-years"),
    pytest.param({"first_day": "2000-01-01", "last_day": "2027-12-31"}, "non_field_errors", id="28-years"),
    pytest.param({"first_day": "1999-12-01", "last_day": "2000-01-31"}, "first_day", id="first-day-before-2000"),
    pytest.param({"first_day": "2026-01-01", "last_day": "2199-12-31"}, "non_field_errors",
                 id="last-day-far-ahead"),
    pytest.param({"first_day": "2026-01-01", "last_day": "9999-12-31"}, "last_day", id="last-day-year-9999"),
    pytest.param({"first_day": "0001-01-01", "last_day": "0001-12-31"}, "first_day", id="year-one"),
    pytest.param({"first_day": "2026-02-30", "last_day": "2026-03-31"}, "first_day", id="30-february"),
    pytest.param({"first_day": "2026-01-01", "last_day": "2026-13-01"}, "last_day", id="month-13"),
    pytest.param({"first_day": "01.01.2026", "last_day": "31.12.2026"}, "first_day", id="german-dates"),
    pytest.param({"first_day": "2026-01-01T00:00", "last_day": "2026-12-31"}, "first_day", id="a-time"),
    pytest.param({"first_day": "morgen", "last_day": "übermorgen"}, "last_day", id="words"),
    pytest.param({"first_day": "", "last_day": ""}, "first_day", id="empty-days"),
    pytest.param({"first_day": "2026-01-01\x00", "last_day": "2026-12-31"}, "first_day", id="nul-byte"),
    pytest.param({"location": ""}, "location", id="location-empty"),
    pytest.param({"location": "mz test"}, "location", id="location-not-a-slug"),
    pytest.param({"location": "x" * 51}, "location", id="location-too-long"),
]


@pytest.mark.parametrize("path", [API, "/api/v1/statistics/by_month/"])
@pytest.mark.parametrize(("query", "field"), BAD_QUERIES)
def test_a_bad_query_is_a_400_with_a_message(client, clerk, year_2026, query, field, path):
    signed_in(client, clerk)

    response = client.get(path, query)

    body = assert_refused(response, 400, "invalid")
    assert field in body["fields"], body
    if field == "non_field_errors":
        assert set(body["fields"]) == {field}, body
    messages = body["fields"][field]
    assert messages and all(isinstance(message, str) and message for message in messages)


def test_the_messages_say_what_is_wrong(client, clerk, year_2026):
    signed_in(client, clerk)

    def message(**query):
        return assert_refused(get(client, **query), 400, "invalid")["fields"]["non_field_errors"]

    with translation.override("de"):
        assert message(first_day="2026-12-31", last_day="2026-01-01") \
            == [str(period_problem(d(12, 31), d(1, 1), MONDAY.date()))]
        assert message(first_day="2014-01-01", last_day="2024-12-31") \
            == [str(period_problem(d(1, 1, 2014), d(12, 31, 2024), MONDAY.date()))]
        assert message(year=2030) == [str(period_problem(d(1, 1, 2030), d(12, 31, 2030), MONDAY.date()))]
    assert len({tuple(message(first_day="2026-01-01")), tuple(message(year=2026, first_day="2026-01-01",
                                                                       last_day="2026-02-01"))}) == 2


def test_a_period_of_ten_years_is_still_answered(client, admin_user, year_2026):
    signed_in(client, admin_user)
    body = ok(get(client, first_day="2017-01-01", last_day="2026-12-31"))
    assert len(body["tables"]["by_month"]["rows"]) == 120
    assert body["tables"]["by_month"]["total"]["loans"] == 3 + 1


# The OpenAPI schema ------------------------------------------------------------------------------------


@pytest.fixture
def openapi(client, db):
    response = client.get(reverse("api_schema"))
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def json_schema(node):
    """OpenAPI 3.0's schema objects as JSON Schema: `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"] if isinstance(node["type"], str) else [*node["type"], "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        else:
            rest = {key: value for key, value in node.items() if key not in ("description", "title")}
            node = {"anyOf": [rest, {"type": "null"}],
                    **{key: value for key, value in node.items() if key in ("description", "title")}}
    return node


def validator_for(openapi, component):
    schema = {"$ref": f"#/components/schemas/{component}", "components": json_schema(openapi["components"])}
    validator_class = jsonschema.validators.Draft202012Validator
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def response_component(operation, status="200"):
    ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


QUERY_PARAMETERS = {"year", "first_day", "last_day", "location"}


@pytest.mark.parametrize("path", ["/api/v1/statistics/", "/api/v1/statistics/{table}/"])
def test_the_schema_documents_both_paths(openapi, path):
    operation = openapi["paths"][path]["get"]
    assert set(openapi["paths"][path]) == {"get"}

    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert {name for name, parameter in parameters.items() if parameter["in"] == "query"} == QUERY_PARAMETERS
    assert not any(parameters[name].get("required") for name in QUERY_PARAMETERS)
    assert parameters["year"]["schema"]["type"] == "integer"
    assert parameters["year"]["schema"]["minimum"] == 2000
    for name in ("first_day", "last_day"):
        assert (parameters[name]["schema"]["type"], parameters[name]["schema"]["format"]) == ("string", "date")
    assert parameters["location"]["schema"]["type"] == "string"
    if "{table}" in path:
        assert parameters["table"]["in"] == "path" and parameters["table"]["required"] is True
    else:
        assert "table" not in parameters

    assert response_component(operation) == "Statistics"
    for status in ("400", "403", "404"):
        assert response_component(operation, status) == "Error"
    assert {"apiToken", "cookieAuth"} <= {name for option in operation["security"] for name in option}


def test_the_schema_describes_the_answer(openapi):
    components = openapi["components"]["schemas"]
    statistics = components["Statistics"]
    assert set(statistics["required"]) == {"period", "locations", "tables"}
    assert statistics["properties"]["locations"]["nullable"] is True
    assert statistics["properties"]["tables"]["additionalProperties"] == {"$ref": "#/components/schemas/Table"}
    assert set(components["Table"]["required"]) == {"key", "title", "note", "columns", "rows", "total"}
    assert set(components["Column"]["required"]) == {"key", "label", "kind"}
    key_enum = components["Table"]["properties"]["key"]["$ref"].rsplit("/", 1)[-1]
    assert components[key_enum]["enum"] == list(TABLE_KEYS)


def test_the_real_answers_validate_against_the_schema(client, openapi, clerk, admin_user, year_2026):
    statistics = validator_for(openapi, response_component(openapi["paths"]["/api/v1/statistics/"]["get"]))
    table = validator_for(openapi, response_component(openapi["paths"]["/api/v1/statistics/{table}/"]["get"]))
    error = validator_for(openapi, "Error")

    signed_in(client, clerk)
    statistics.validate(ok(get(client, year=2026)))
    statistics.validate(ok(get(client, first_day="2026-03-01", last_day="2026-05-31")))
    for key in TABLE_KEYS:
        table.validate(ok(get(client, table_path(key), year=2026)))
    error.validate(assert_refused(get(client, year="abc"), 400))
    error.validate(assert_refused(get(client, first_day="2026-01-01"), 400))
    error.validate(assert_refused(get(client, location="mz-nachbar"), 404))
    error.validate(assert_refused(get(client, f"{API}nope/"), 404))

    signed_in(client, admin_user)
    answer = ok(get(client, year=2026))
    assert answer["locations"] is None
    statistics.validate(answer)

    client.logout()
    error.validate(assert_refused(get(client, year=2026), 403))


def test_the_schema_validation_would_catch_a_wrong_answer(client, openapi, clerk, year_2026):
    """The validator is not a rubber stamp: answers that break the documented shape fail it."""
    statistics = validator_for(openapi, "Statistics")
    answer = ok(get(signed_in(client, clerk), year=2026))
    statistics.validate(answer)

    def broken(change):
        wrong = copy.deepcopy(answer)
        change(wrong)
        return wrong

    for change in [
        lambda body: body.pop("locations"),
        lambda body: body.update(locations="mz-test"),
        lambda body: body["period"].update(first_day="01.01.2026"),
        lambda body: body["tables"]["overview"].update(key="nope"),
        lambda body: body["tables"]["overview"].pop("total"),
        lambda body: body["tables"]["by_month"]["columns"][0].update(kind="float"),
        lambda body: body["tables"]["by_month"].update(rows=[1, 2]),
    ]:
        with pytest.raises(jsonschema.ValidationError):
            statistics.validate(broken(change))
