"""The staff side of the API: the units and damage reports of one's counters, settling a report,
the schools one may see; pagination, filters and the whitelisted `ordering` of every list.

Personas: clerk works at mz-test, neighbour (nina) at mz-nachbar; admin_user works everywhere; teachers get 403.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api_tokens import api_token_create
from catalog.models import UnitStatus
from lending.models import DamageReport, Handover, Reservation
from lending.services import damage_report_create, handover_assign_unit, handover_complete, takeback_unit
from tests import factories
from tests.lending.conftest import NEXT_WEDNESDAY, TUESDAY, counter_written, travel_to


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def north_item_type(neighbour_counter):
    return factories.make_item_type(location=neighbour_counter, name="Beamer", slug="beamer", units=2)


def get(client, name, *args, **query):
    return client.get(reverse(f"lending_api:{name}", args=args), query)


def results(response, key):
    """The `key` of every row on a page of a list."""
    assert response.status_code == 200, response.json()
    return [row[key] for row in response.json()["results"]]


def assert_refused(response, status, code):
    assert response.status_code == status, response.content
    assert response.json() == {"code": code, "detail": response.json()["detail"], "fields": {}}
    assert response.json()["detail"]


def assert_queries_do_not_grow(client, django_assert_max_num_queries, url, add_rows):
    """The same request costs no more queries after `add_rows()` than before."""
    with CaptureQueriesContext(connection) as few:
        before = client.get(url)
    add_rows()
    with django_assert_max_num_queries(len(few.captured_queries)):
        after = client.get(url)
    assert after.status_code == 200
    assert after.json()["count"] >= before.json()["count"] + 20


# Who may use these endpoints -------------------------------------------------------------------------


STAFF_ONLY = [("unit_list", []), ("unit_detail", ["T-000001"]), ("damage_report_list", []),
              ("damage_report_detail", [1])]


@pytest.mark.parametrize(("name", "args"), STAFF_ONLY)
def test_teachers_are_refused_the_staff_endpoints(client, teacher_a, name, args):
    client.force_login(teacher_a)
    assert_refused(client.get(reverse(f"lending_api:{name}", args=args)), 403, "permission_denied")


@pytest.mark.parametrize(("name", "args"), [*STAFF_ONLY, ("school_list", []), ("school_detail", [1])])
def test_anonymous_callers_are_refused(client, db, name, args):
    assert_refused(client.get(reverse(f"lending_api:{name}", args=args)), 403, "not_authenticated")


def test_a_teacher_cannot_settle_a_report(client, teacher_a, counter_report):
    client.force_login(teacher_a)
    before = counter_written()

    response = client.patch(reverse("lending_api:damage_report_detail", args=[counter_report.pk]),
                            {"resolution": "repair"}, content_type="application/json")

    assert_refused(response, 403, "permission_denied")
    assert counter_written() == before


def test_a_read_only_token_reads_the_staff_lists_but_cannot_settle(client, clerk, counter_report):
    # The staff check is added to the default permissions, not put in their place: the token's
    # scope still holds.
    _, raw = api_token_create(user=clerk, name="Kiosk", scope="read")
    headers = {"Authorization": f"Bearer {raw}"}
    before = counter_written()

    listed = client.get(reverse("lending_api:damage_report_list"), headers=headers)
    settled = client.patch(reverse("lending_api:damage_report_detail", args=[counter_report.pk]),
                           {"resolution": "repair"}, content_type="application/json", headers=headers)

    assert results(listed, "id") == [counter_report.pk]
    assert_refused(settled, 403, "token_read_only")
    assert counter_written() == before


# Units ------------------------------------------------------------------------------------------------


def test_staff_list_the_units_of_their_counters_with_the_booking_each_is_out_for(client, clerk, loan, units,
                                                                                north_item_type):
    client.force_login(clerk)

    response = get(client, "unit_list")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert [(row["asset_tag"], row["reservation"]) for row in body["results"]] == [
        (units[0].asset_tag, loan.code), (units[1].asset_tag, loan.code), (units[2].asset_tag, None)
    ]
    first = body["results"][0]
    handed_out_at = first["loan"].pop("handed_out_at")
    assert first == {
        "asset_tag": units[0].asset_tag, "item_type": "vr-koffer", "location": "mz-test", "status": "on_loan",
        "stored_status": "available", "serial_number": "", "contents": "", "notes": "", "reservation": loan.code,
        "loan": {"reservation": loan.code, "borrower": str(loan.borrower), "school": loan.school.name,
                 "return_day": loan.return_day.isoformat(), "overdue_days": 0},
    }
    assert handed_out_at is not None
    assert body["results"][2]["status"] == "available" and body["results"][2]["loan"] is None


def test_a_unit_taken_back_is_on_loan_for_nothing_again(client, clerk, loan, units):
    takeback_unit(unit=units[0], actor=clerk, condition="complete")
    client.force_login(clerk)

    assert results(get(client, "unit_list"), "reservation") == [None, loan.code, None]
    assert get(client, "unit_detail", units[1].asset_tag).json()["reservation"] == loan.code


def test_an_administrator_sees_the_units_of_every_counter(client, admin_user, units, north_item_type):
    client.force_login(admin_user)

    assert results(get(client, "unit_list"), "location") == ["mz-test"] * 3 + ["mz-nachbar"] * 2


def test_staff_of_another_counter_see_none_of_its_units(client, neighbour, units, north_item_type):
    client.force_login(neighbour)

    assert results(get(client, "unit_list"), "item_type") == ["beamer", "beamer"]
    assert_refused(get(client, "unit_detail", units[0].asset_tag), 404, "not_found")
    assert_refused(get(client, "unit_list", location="mz-test"), 403, "permission_denied")
    assert_refused(get(client, "unit_list", location="gibt-es-nicht"), 404, "not_found")


def test_units_are_filtered_by_counter_item_status_and_search(client, admin_user, units, north_item_type):
    units[1].status = UnitStatus.MAINTENANCE
    units[1].save()
    units[2].serial_number = "SN-4711-XY"
    units[2].save()
    north_tags = list(north_item_type.units.order_by("asset_tag").values_list("asset_tag", flat=True))
    client.force_login(admin_user)

    assert results(get(client, "unit_list", location="mz-nachbar"), "asset_tag") == north_tags
    assert results(get(client, "unit_list", item_type="vr-koffer"), "asset_tag") == [unit.asset_tag for unit in units]
    assert results(get(client, "unit_list", status="maintenance"), "asset_tag") == [units[1].asset_tag]
    assert results(get(client, "unit_list", search="4711"), "asset_tag") == [units[2].asset_tag]
    assert results(get(client, "unit_list", search=units[0].asset_tag.lower()), "asset_tag") == [units[0].asset_tag]
    assert results(get(client, "unit_list", item_type="vr-koffer", status="lost"), "asset_tag") == []
    refused = get(client, "unit_list", status="kaputt")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid" and list(refused.json()["fields"]) == ["status"]


def test_units_are_ordered_only_as_offered(client, clerk, units):
    units[0].status = UnitStatus.MAINTENANCE
    units[0].save()
    client.force_login(clerk)
    tags = [unit.asset_tag for unit in units]

    assert results(get(client, "unit_list"), "asset_tag") == tags
    assert results(get(client, "unit_list", ordering="-asset_tag"), "asset_tag") == tags[::-1]
    assert results(get(client, "unit_list", ordering="status"), "asset_tag") == [tags[1], tags[2], tags[0]]
    refused = get(client, "unit_list", ordering="serial_number")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid" and list(refused.json()["fields"]) == ["ordering"]


def test_unit_pages_neither_repeat_nor_skip_units_that_tie(client, clerk, item_type, units):
    for _ in range(4):
        factories.make_unit(item_type=item_type, status=UnitStatus.MAINTENANCE)
    client.force_login(clerk)
    everything = results(get(client, "unit_list", ordering="status"), "asset_tag")

    pages = [get(client, "unit_list", ordering="status", page_size=3, page=page) for page in (1, 2, 3)]

    assert [len(page.json()["results"]) for page in pages] == [3, 3, 1]
    assert [tag for page in pages for tag in results(page, "asset_tag")] == everything
    assert pages[0].json()["next"] and pages[2].json()["next"] is None
    assert_refused(get(client, "unit_list", page=4, page_size=3), 404, "not_found")


def test_one_unit_and_an_unknown_one(client, clerk, loan, units):
    client.force_login(clerk)

    assert get(client, "unit_detail", units[0].asset_tag).json()["reservation"] == loan.code
    assert get(client, "unit_detail", units[2].asset_tag).json()["reservation"] is None
    assert_refused(get(client, "unit_detail", "GIBT-ES-NICHT"), 404, "not_found")


def test_the_unit_list_costs_the_same_queries_for_many_units(client, clerk, item_type, loan, location, school_a,
                                                            teacher_a, django_assert_max_num_queries):
    client.force_login(clerk)

    def add_rows():
        many = factories.make_item_type(location=location, units=30)
        booking = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                             lines={many: 10}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
        for unit in many.units.all()[:10]:
            handover_assign_unit(reservation=booking, unit=unit, actor=clerk)

    assert_queries_do_not_grow(client, django_assert_max_num_queries, reverse("lending_api:unit_list"), add_rows)
    assert Handover.objects.filter(returned_at__isnull=True).count() == 12


# Schools ----------------------------------------------------------------------------------------------


@pytest.fixture
def closed_school(db):
    return factories.make_school(name="Alte Hauptschule", number="199999", active=False)


def test_staff_see_every_active_school(client, clerk, school_a, school_b, closed_school):
    client.force_login(clerk)

    response = get(client, "school_list")

    assert results(response, "name") == ["Grundschule Nord", "Gymnasium am Park"]
    assert response.json()["results"][1] == {
        "id": school_a.pk, "number": school_a.number, "name": "Gymnasium am Park", "school_type": "gymnasium"
    }
    assert get(client, "school_detail", school_b.pk).json()["name"] == "Grundschule Nord"
    assert_refused(get(client, "school_detail", closed_school.pk), 404, "not_found")


def test_a_teacher_sees_only_her_active_schools(client, teacher_a, school_a, school_b, closed_school):
    teacher_a.schools.add(closed_school)
    client.force_login(teacher_a)

    assert results(get(client, "school_list"), "id") == [school_a.pk]
    assert get(client, "school_detail", school_a.pk).json()["number"] == school_a.number
    assert_refused(get(client, "school_detail", school_b.pk), 404, "not_found")
    assert_refused(get(client, "school_detail", closed_school.pk), 404, "not_found")


def test_someone_without_a_school_sees_none(client, stranger, school_a):
    client.force_login(stranger)

    assert results(get(client, "school_list"), "id") == []


def test_a_teacher_books_for_the_school_the_list_gives(client, teacher_a, school_a, item_type):
    client.force_login(teacher_a)
    [school] = get(client, "school_list").json()["results"]
    pickup_day = factories.counter_day(at_least_days_ahead=3)

    response = client.post(reverse("lending_api:reservation_create"), {
        "school": school["id"], "pickup_day": pickup_day.isoformat(), "pickup_slot": "09:00",
        "return_day": (pickup_day + datetime.timedelta(days=1)).isoformat(),
        "lines": [{"item_type": item_type.pk, "quantity": 1}],
    }, content_type="application/json")

    assert response.status_code == 201, response.json()
    assert Reservation.objects.get().school == school_a


def test_schools_are_searched_by_name_or_number(client, admin_user, school_a, school_b):
    client.force_login(admin_user)

    assert results(get(client, "school_list", search="nord"), "id") == [school_b.pk]
    assert results(get(client, "school_list", search=school_a.number), "id") == [school_a.pk]
    assert results(get(client, "school_list", search="Realschule"), "id") == []


def test_the_school_list_costs_the_same_queries_for_many_schools(client, teacher_a, school_a,
                                                                django_assert_max_num_queries):
    client.force_login(teacher_a)

    def add_rows():
        teacher_a.schools.add(*[factories.make_school() for _ in range(25)])

    assert_queries_do_not_grow(client, django_assert_max_num_queries, reverse("lending_api:school_list"), add_rows)


# Damage reports ---------------------------------------------------------------------------------------


@pytest.fixture
def counter_report(loan, units, clerk):
    """The first VR case came back damaged: in maintenance, with an open report by the counter."""
    takeback_unit(unit=units[0], actor=clerk, condition="damaged", note="Gurt gerissen")
    return DamageReport.objects.get(unit=units[0])


@pytest.fixture
def theft_report(loan, teacher_a):
    """Alice reports that something of her loan was stolen, without saying which unit."""
    return damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=None, kind="theft",
                                description="Aus dem Klassenraum gestohlen")


@pytest.fixture
def north_report(neighbour_counter, neighbour, north_item_type, school_b, teacher_b):
    """At the other counter, a projector came back damaged."""
    booking = factories.make_reservation(location=neighbour_counter, school=school_b, borrower=teacher_b,
                                         lines={north_item_type: 1}, pickup_day=TUESDAY, return_day=NEXT_WEDNESDAY)
    unit = north_item_type.units.first()
    handover_assign_unit(reservation=booking, unit=unit, actor=neighbour)
    handover_complete(reservation=booking, actor=neighbour)
    takeback_unit(unit=unit, actor=neighbour, condition="damaged", note="Lampe defekt")
    return DamageReport.objects.get(unit=unit)


@pytest.fixture
def reports(counter_report, theft_report, north_report):
    """Reported one hour apart, the theft last; time is frozen, so the times are set here."""
    for hours, report in enumerate([north_report, counter_report, theft_report]):
        report.reported_at = datetime.datetime.combine(TUESDAY, datetime.time(9 + hours), tzinfo=datetime.UTC)
        report.save(update_fields=["reported_at"])
    return counter_report, theft_report, north_report


def test_staff_list_the_reports_of_their_counters_without_anyones_name(client, clerk, loan, units, reports):
    counter_report, theft_report, _ = reports
    client.force_login(clerk)

    response = get(client, "damage_report_list")

    assert results(response, "id") == [theft_report.pk, counter_report.pk]
    assert response.json()["results"][1] == {
        "id": counter_report.pk, "kind": "damage", "source": "counter", "status": "open",
        "description": counter_report.description, "unit": units[0].asset_tag, "reservation": loan.code,
        "reported_at": "2027-03-02T11:00:00+01:00", "resolution": "", "compensation_amount": None,
        "settled_at": None,
    }
    assert (response.json()["results"][0]["unit"], response.json()["results"][0]["source"]) == (None, "teacher")
    for name in ("Alice", "Adler", "alice", "Clara", "clara"):
        assert name not in response.content.decode()


def test_staff_of_another_counter_neither_see_nor_settle_its_reports(client, neighbour, reports):
    counter_report, _, north_report = reports
    client.force_login(neighbour)
    url = reverse("lending_api:damage_report_detail", args=[counter_report.pk])
    before = counter_written()

    assert results(get(client, "damage_report_list"), "id") == [north_report.pk]
    assert_refused(client.get(url), 404, "not_found")
    assert_refused(client.patch(url, {"resolution": "repair"}, content_type="application/json"), 404, "not_found")
    assert counter_written() == before
    assert_refused(get(client, "damage_report_list", location="mz-test"), 403, "permission_denied")


def test_reports_are_filtered_by_counter_status_and_kind(client, admin_user, reports):
    counter_report, theft_report, north_report = reports
    client.force_login(admin_user)

    assert results(get(client, "damage_report_list"), "id") == [theft_report.pk, counter_report.pk, north_report.pk]
    assert results(get(client, "damage_report_list", location="mz-nachbar"), "id") == [north_report.pk]
    assert results(get(client, "damage_report_list", location="mz-test"), "id") == [theft_report.pk,
                                                                                     counter_report.pk]
    assert results(get(client, "damage_report_list", kind="theft"), "id") == [theft_report.pk]
    assert results(get(client, "damage_report_list", status="settled"), "id") == []
    assert_refused(get(client, "damage_report_list", location="gibt-es-nicht"), 404, "not_found")
    refused = get(client, "damage_report_list", kind="fire")
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["kind"]


def test_reports_come_open_first_unless_ordered_by_time(client, clerk, reports):
    counter_report, theft_report, _ = reports
    DamageReport.objects.filter(pk=theft_report.pk).update(status=DamageReport.Status.SETTLED, resolution="write_off")
    client.force_login(clerk)

    assert results(get(client, "damage_report_list"), "id") == [counter_report.pk, theft_report.pk]
    assert results(get(client, "damage_report_list", status="open"), "id") == [counter_report.pk]
    assert results(get(client, "damage_report_list", ordering="-reported_at"), "id") == [theft_report.pk,
                                                                                          counter_report.pk]
    assert results(get(client, "damage_report_list", ordering="reported_at"), "id") == [counter_report.pk,
                                                                                         theft_report.pk]
    refused = get(client, "damage_report_list", ordering="reported_by")
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["ordering"]


def test_one_report_and_an_unknown_one(client, clerk, theft_report, loan):
    client.force_login(clerk)

    body = get(client, "damage_report_detail", theft_report.pk).json()

    assert (body["id"], body["kind"], body["unit"], body["reservation"]) == (theft_report.pk, "theft", None, loan.code)
    assert_refused(get(client, "damage_report_detail", 999999), 404, "not_found")


def test_staff_settle_a_report_and_the_unit_is_available_again(client, clerk, counter_report, units):
    client.force_login(clerk)
    url = reverse("lending_api:damage_report_detail", args=[counter_report.pk])

    response = client.patch(url, {"resolution": "repair", "compensation_amount": "12.5"},
                            content_type="application/json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["resolution"], body["compensation_amount"]) == ("settled", "repair", "12.50")
    assert body["settled_at"]
    counter_report.refresh_from_db()
    assert (counter_report.status, counter_report.resolution, counter_report.settled_by) == ("settled", "repair", clerk)
    assert counter_report.compensation_amount == Decimal("12.50")
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE

    before = counter_written()
    again = client.patch(url, {"resolution": "write_off"}, content_type="application/json")
    assert_refused(again, 409, "report_settled")
    assert counter_written() == before


def test_a_written_off_unit_is_retired_and_nothing_is_owed(client, admin_user, counter_report, units):
    client.force_login(admin_user)

    response = client.patch(reverse("lending_api:damage_report_detail", args=[counter_report.pk]),
                            {"resolution": "write_off"}, content_type="application/json")

    assert response.status_code == 200 and response.json()["compensation_amount"] is None
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.RETIRED


@pytest.mark.parametrize(("body", "field"), [
    ({"resolution": "burn"}, "resolution"), ({}, "resolution"),
    ({"resolution": "repair", "compensation_amount": "-1"}, "compensation_amount"),
    ({"resolution": "repair", "compensation_amount": "1000000"}, "compensation_amount"),
    ({"resolution": "repair", "compensation_amount": "viel"}, "compensation_amount"),
])
def test_settling_needs_a_known_resolution_and_a_sensible_amount(client, clerk, counter_report, body, field):
    client.force_login(clerk)
    before = counter_written()

    response = client.patch(reverse("lending_api:damage_report_detail", args=[counter_report.pk]), body,
                            content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and list(response.json()["fields"]) == [field]
    assert counter_written() == before


def test_a_unit_still_on_loan_is_taken_back_before_its_report_is_settled(client, clerk, loan, units, teacher_a):
    report = damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=units[1], kind="damage",
                                  description="Display gesprungen")
    client.force_login(clerk)
    before = counter_written()

    response = client.patch(reverse("lending_api:damage_report_detail", args=[report.pk]), {"resolution": "repair"},
                            content_type="application/json")

    assert_refused(response, 409, "unit_on_loan")
    assert counter_written() == before


def test_the_report_list_costs_the_same_queries_for_many_reports(client, clerk, reports, loan, units, location,
                                                                django_assert_max_num_queries):
    client.force_login(clerk)

    def add_rows():
        more = factories.make_item_type(location=location, units=25)
        DamageReport.objects.bulk_create(
            DamageReport(unit=unit, reservation=loan, kind="damage", source="counter", description="Kratzer")
            for unit in more.units.all()
        )

    assert_queries_do_not_grow(client, django_assert_max_num_queries, reverse("lending_api:damage_report_list"),
                               add_rows)


# Ordering of the older lists --------------------------------------------------------------------------


def test_reservations_keep_their_order_and_are_ordered_only_as_offered(client, clerk, location, school_a,
                                                                      teacher_a, item_type):
    day = datetime.date(2027, 3, 9)
    week = datetime.timedelta(days=7)
    bookings = [
        factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                                   pickup_day=pickup_day, return_day=return_day)
        for pickup_day, return_day in [(day, day + 3 * week), (day + week, day + week),
                                       (day + 2 * week, day + 2 * week)]
    ]
    first, second, third = (booking.code for booking in bookings)
    client.force_login(clerk)

    assert results(get(client, "reservation_create"), "code") == [first, second, third]
    assert results(get(client, "reservation_create", ordering="-pickup_day"), "code") == [third, second, first]
    assert results(get(client, "reservation_create", ordering="return_day"), "code") == [second, third, first]
    assert results(get(client, "reservation_create", ordering="-return_day"), "code") == [first, third, second]
    assert results(get(client, "reservation_create", ordering="code"), "code") == sorted([first, second, third])
    refused = get(client, "reservation_create", ordering="borrower__last_name")
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["ordering"]


def test_item_types_keep_the_catalogue_order_unless_ordered_by_name(client, location):
    early = factories.make_category(name="Audio", slug="audio", position=1)
    late = factories.make_category(name="Video", slug="video", position=2)
    factories.make_item_type(location=location, category=early, name="Zoom-Rekorder", slug="zoom")
    factories.make_item_type(location=location, category=late, name="Actioncam", slug="actioncam")
    factories.make_item_type(location=location, category=early, name="Mikrofon", slug="mikrofon")
    url = reverse("lending_api:item_type_list")

    def slugs(**query):
        response = client.get(url, query)
        assert response.status_code == 200, response.json()
        return [row["slug"] for row in response.json()["results"]]

    assert slugs() == ["mikrofon", "zoom", "actioncam"]
    assert slugs(ordering="name") == ["actioncam", "mikrofon", "zoom"]
    assert slugs(ordering="-name") == ["zoom", "mikrofon", "actioncam"]
    refused = client.get(url, {"ordering": "loanable_units"})
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["ordering"]
