"""Damage pages: teachers report online, counter staff follow reports up and read the statistics."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from catalog.models import UnitStatus
from lending.models import DamageReport, Reservation, ReservationStatus
from lending.services import damage_report_create, takeback_unit
from tests import factories
from tests.lending.conftest import BERLIN, TUESDAY, counter_written, loan, travel_to, units  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


@pytest.fixture
def other_clerk(db):
    """Counter staff of another media centre."""
    clerk = factories.make_user(username="otto", role=Role.STAFF)
    clerk.locations.add(factories.make_location(name="Medienzentrum Anderswo"))
    return clerk


def report_url(reservation):
    return reverse("frontend:damage_report_new", args=[reservation.code])


def content(response):
    return response.content.decode()


# Teachers report online ----------------------------------------------------------------------------


def test_the_booking_page_offers_the_report_only_while_the_loan_is_out(client, teacher_a, loan, item_type):
    client.force_login(teacher_a)
    assert report_url(loan) in content(client.get(reverse("frontend:booking_detail", args=[loan.code])))

    upcoming = factories.book(borrower=teacher_a, lines={item_type.pk: 1})
    assert report_url(upcoming) not in content(client.get(reverse("frontend:booking_detail", args=[upcoming.code])))


def test_the_form_offers_the_kinds_and_the_units_out_on_the_booking(client, teacher_a, loan, units):
    client.force_login(teacher_a)

    response = client.get(report_url(loan))

    assert response.status_code == 200
    page = content(response)
    for value in ("damage", "theft", "loss"):
        assert f'type="radio" name="kind" value="{value}"' in page
    unit_choices = [label for value, label in response.context["form"].fields["unit"].choices if value]
    assert unit_choices == [f"{units[0].asset_tag} – VR-Koffer", f"{units[1].asset_tag} – VR-Koffer"]
    assert units[2].asset_tag not in page  # still on the shelf


def test_a_teacher_reports_damage_to_a_unit(client, teacher_a, loan, units):
    client.force_login(teacher_a)

    response = client.post(report_url(loan), {"kind": "damage", "unit": units[1].pk, "description": " Display gesprungen "})

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:booking_detail", args=[loan.code])
    report = DamageReport.objects.get()
    assert (report.reservation, report.unit, report.kind, report.description, report.reported_by, report.source) == (
        loan, units[1], DamageReport.Kind.DAMAGE, "Display gesprungen", teacher_a, DamageReport.Source.TEACHER
    )
    assert report.status == DamageReport.Status.OPEN
    booking_page = client.get(response["Location"])
    assert [message.level_tag for message in booking_page.context["messages"]] == ["success"]


def test_a_teacher_reports_the_theft_of_the_whole_loan(client, teacher_a, loan):
    client.force_login(teacher_a)

    response = client.post(report_url(loan), {"kind": "theft", "unit": "", "description": "Aus dem Klassenraum gestohlen"})

    assert response.status_code == 302
    report = DamageReport.objects.get()
    assert (report.unit, report.kind) == (None, DamageReport.Kind.THEFT)


@pytest.mark.parametrize("data", [
    {"kind": "damage", "description": "   "},
    {"kind": "fire", "description": "verbrannt"},
    {"description": "ohne Art"},
    {"kind": "damage", "unit": "999999", "description": "unbekanntes Exemplar"},
])
def test_an_incomplete_report_is_refused_with_400_and_nothing_is_written(client, teacher_a, loan, data):
    client.force_login(teacher_a)
    before = counter_written()

    response = client.post(report_url(loan), data)

    assert response.status_code == 400
    assert response.context["form"].errors
    assert counter_written() == before


def test_a_unit_of_the_booking_already_taken_back_cannot_be_reported(client, teacher_a, loan, units, clerk):
    takeback_unit(unit=units[0], actor=clerk, condition="complete")
    client.force_login(teacher_a)
    before = counter_written()

    for unit in (units[0], units[2]):
        response = client.post(report_url(loan), {"kind": "damage", "unit": unit.pk, "description": "kaputt"})
        assert response.status_code == 400
        assert "unit" in response.context["form"].errors

    assert counter_written() == before


@pytest.mark.parametrize("status", [ReservationStatus.CONFIRMED, ReservationStatus.RETURNED])
def test_a_booking_that_is_not_out_is_refused_with_the_reason(client, teacher_a, loan, status):
    Reservation.objects.filter(pk=loan.pk).update(status=status)
    client.force_login(teacher_a)
    before = counter_written()

    for response in (client.get(report_url(loan)), client.post(report_url(loan), {"kind": "loss", "description": "weg"})):
        assert response.status_code == 403
        assert response.context["error_code"] == "not_your_loan"
        assert "message-error" in content(response)

    assert counter_written() == before


def test_someone_elses_booking_is_404_and_nothing_is_written(client, teacher_b, loan):
    client.force_login(teacher_b)
    before = counter_written()

    assert client.get(report_url(loan)).status_code == 404
    assert client.post(report_url(loan), {"kind": "loss", "description": "weg"}).status_code == 404
    assert counter_written() == before


def test_signing_in_comes_first(client, loan):
    response = client.get(report_url(loan))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# Staff follow-up -----------------------------------------------------------------------------------


def list_url(location):
    return reverse("frontend:counter_damage_reports", args=[location.slug])


def detail_url(report):
    location = report.unit.item_type.location if report.unit else report.reservation.location
    return reverse("frontend:counter_damage_report", args=[location.slug, report.pk])


@pytest.fixture
def reports(loan, units, teacher_a, clerk, time_machine):
    """A damage report from Tuesday (settled), a theft reported on Wednesday (open), and a
    whole-loan loss reported on Thursday (open)."""
    damaged = damage_report_create(
        reporter=teacher_a, reservation=loan, unit_or_none=units[0], kind="damage", description="Riss im Gurt"
    )
    DamageReport.objects.filter(pk=damaged.pk).update(status=DamageReport.Status.SETTLED, resolution="repair")
    travel_to(time_machine, TUESDAY + datetime.timedelta(days=1))
    stolen = damage_report_create(
        reporter=teacher_a, reservation=loan, unit_or_none=units[1], kind="theft", description="Aus dem Auto"
    )
    travel_to(time_machine, TUESDAY + datetime.timedelta(days=2))
    lost = damage_report_create(reporter=clerk, reservation=loan, unit_or_none=None, kind="loss", description="Anruf")
    return damaged, stolen, lost


def test_staff_see_open_reports_first_with_what_they_need_to_follow_up(client, clerk, location, reports, units, loan):
    damaged, stolen, lost = reports
    client.force_login(clerk)

    response = client.get(list_url(location))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [lost, stolen, damaged]
    page = content(response)
    for text in (units[1].asset_tag, "VR-Koffer", loan.code, "Alice Adler", "Gymnasium am Park", "03.03.2027"):
        assert text in page
    assert page.index(units[1].asset_tag) < page.index(units[0].asset_tag)


@pytest.mark.parametrize(("query", "expected"), [
    ({"status": "open"}, ["lost", "stolen"]),
    ({"status": "settled"}, ["damaged"]),
    ({"kind": "theft"}, ["stolen"]),
    ({"status": "open", "kind": "damage"}, []),
    ({"status": "", "kind": ""}, ["lost", "stolen", "damaged"]),
])
def test_staff_filter_reports_by_status_and_kind(client, clerk, location, reports, query, expected):
    names = dict(zip(["damaged", "stolen", "lost"], reports))
    client.force_login(clerk)

    response = client.get(list_url(location), query)

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [names[name] for name in expected]


def test_an_unknown_filter_value_is_400(client, clerk, location, reports):
    client.force_login(clerk)

    assert client.get(list_url(location), {"status": "burnt"}).status_code == 400


def test_the_list_needs_the_same_few_queries_for_many_reports(client, clerk, location, loan, units, teacher_a,
                                                             django_assert_max_num_queries):
    # Written directly: the service allows one open report per unit and loan.
    for number in range(30):
        DamageReport.objects.create(
            reservation=loan, unit=units[number % 2] if number % 3 else None, kind="damage",
            description=f"Schaden {number}", reported_by=teacher_a, source=DamageReport.Source.TEACHER,
        )
    client.force_login(clerk)

    with django_assert_max_num_queries(12):
        response = client.get(list_url(location))

    assert len(response.context["page"].object_list) == 30


def test_the_list_is_paginated(client, clerk, location, loan, teacher_a):
    DamageReport.objects.bulk_create(
        DamageReport(reservation=loan, kind="loss", description=f"{number}", reported_by=teacher_a,
                     source=DamageReport.Source.TEACHER)
        for number in range(51)
    )
    client.force_login(clerk)

    first = client.get(list_url(location), {"status": "open"})
    second = client.get(list_url(location), {"status": "open", "page": 2})

    assert len(first.context["page"].object_list) == 50
    assert "status=open&amp;page=2" in content(first)
    assert len(second.context["page"].object_list) == 1


@pytest.mark.parametrize("page", ["list", "detail", "statistics"])
def test_teachers_and_staff_of_another_counter_get_403(client, teacher_a, other_clerk, location, reports, page):
    url = {
        "list": list_url(location), "detail": detail_url(reports[1]),
        "statistics": reverse("frontend:counter_statistics", args=[location.slug]),
    }[page]
    before = counter_written()
    for user in (teacher_a, other_clerk):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"resolution": "repair"}).status_code in (403, 405)
    assert counter_written() == before


def test_administrators_work_at_every_counter(client, admin_user, location, reports):
    client.force_login(admin_user)

    assert client.get(list_url(location)).status_code == 200
    assert client.get(detail_url(reports[1])).status_code == 200


def test_a_report_of_another_counter_is_404(client, clerk, location, reports):
    other_location = factories.make_location()
    clerk.locations.add(other_location)
    client.force_login(clerk)

    response = client.get(reverse("frontend:counter_damage_report", args=[other_location.slug, reports[1].pk]))

    assert response.status_code == 404
    assert client.get(reverse("frontend:counter_damage_report", args=[location.slug, 999999])).status_code == 404


def test_the_report_page_shows_the_report_and_a_settle_form(client, clerk, reports, units, loan):
    client.force_login(clerk)

    response = client.get(detail_url(reports[1]))

    assert response.status_code == 200
    page = content(response)
    for text in (units[1].asset_tag, "Aus dem Auto", loan.code, "Alice Adler", "Gymnasium am Park"):
        assert text in page
    assert 'type="radio" name="resolution" value="write_off"' in page
    assert 'name="compensation_amount"' in page


@pytest.fixture
def returned_damaged(loan, units, clerk):
    """The first VR case came back damaged: in maintenance, with an open report from the counter."""
    takeback_unit(unit=units[0], actor=clerk, condition="damaged", note="Gurt gerissen")
    return DamageReport.objects.get()


@pytest.mark.parametrize(("typed", "amount"), [("12,50", "12.50"), ("12.50", "12.50"), ("1.234,5", "1234.50"),
                                                ("80 €", "80.00"), ("", None)])
def test_staff_settle_a_report_with_a_compensation_in_german_or_english_notation(
        client, clerk, returned_damaged, units, typed, amount):
    client.force_login(clerk)

    response = client.post(detail_url(returned_damaged), {"resolution": "repair", "compensation_amount": typed})

    assert response.status_code == 302
    assert response["Location"] == detail_url(returned_damaged)
    returned_damaged.refresh_from_db()
    assert (returned_damaged.status, returned_damaged.resolution, returned_damaged.settled_by) == (
        DamageReport.Status.SETTLED, DamageReport.Resolution.REPAIR, clerk
    )
    assert returned_damaged.compensation_amount == (Decimal(amount) if amount else None)
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE


def test_a_written_off_unit_is_retired_and_the_page_shows_the_settlement(client, clerk, returned_damaged, units):
    client.force_login(clerk)

    response = client.post(detail_url(returned_damaged), {"resolution": "write_off", "compensation_amount": "1234,5"},
                           follow=True)

    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.RETIRED
    page = content(response)
    assert "1.234,50 €" in page
    assert 'name="resolution"' not in page  # settled: no form any more


@pytest.mark.parametrize("data", [
    {"resolution": "burn"}, {"compensation_amount": "10"}, {"resolution": "repair", "compensation_amount": "-5"},
    {"resolution": "repair", "compensation_amount": "zehn"}, {"resolution": "repair", "compensation_amount": "1.234"},
    {"resolution": "repair", "compensation_amount": "1000000"}, {"resolution": "repair", "compensation_amount": "NaN"},
])
def test_a_bad_settlement_is_400_and_nothing_is_written(client, clerk, returned_damaged, data):
    client.force_login(clerk)
    before = counter_written()

    response = client.post(detail_url(returned_damaged), data)

    assert response.status_code == 400
    assert response.context["form"].errors
    assert counter_written() == before


def test_a_unit_still_on_loan_is_refused_with_the_reason(client, clerk, reports):
    client.force_login(clerk)
    before = counter_written()

    response = client.post(detail_url(reports[1]), {"resolution": "write_off"})

    assert response.status_code == 409
    assert response.context["error_code"] == "unit_on_loan"
    assert "message-error" in content(response)
    assert counter_written() == before


def test_a_settled_report_is_not_settled_again(client, clerk, reports):
    client.force_login(clerk)
    before = counter_written()

    response = client.post(detail_url(reports[0]), {"resolution": "write_off"})

    assert response.status_code == 409
    assert response.context["error_code"] == "report_settled"
    assert counter_written() == before


# Statistics ----------------------------------------------------------------------------------------


def statistics_url(location, **query):
    url = reverse("frontend:counter_statistics", args=[location.slug])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


@pytest.fixture
def year_2026(location):
    """200 iPads in 2026 with 3 damage cases (1.50 %) and 1 theft (0.50 %), one with 12.50 compensation;
    a damage case of 2025 does not count for 2026."""
    ipad = factories.make_item_type(location=location, name="iPad", slug="ipad", units=200)
    units = list(ipad.units.order_by("pk"))
    for number, (kind, month) in enumerate([("damage", 2), ("damage", 5), ("damage", 11), ("theft", 7)]):
        DamageReport.objects.create(
            unit=units[number], kind=kind, description="…", source=DamageReport.Source.COUNTER,
            reported_at=datetime.datetime(2026, month, 10, 9, 0, tzinfo=BERLIN),
            compensation_amount=Decimal("12.50") if number == 0 else None,
        )
    DamageReport.objects.create(
        unit=units[10], kind="damage", description="…", source=DamageReport.Source.COUNTER,
        reported_at=datetime.datetime(2025, 12, 10, 9, 0, tzinfo=BERLIN),
    )
    return ipad


def test_the_statistics_show_the_figures_in_german(client, clerk, location, year_2026):
    client.force_login(clerk)

    response = client.get(statistics_url(location, jahr=2026))

    assert response.status_code == 200
    page = content(response)
    assert "1,50 %" in page and "0,50 %" in page and "12,50 €" in page
    [row] = response.context["statistics"].rows
    assert (row.units, row.damage_cases, row.theft_and_loss) == (200, 3, 1)


def test_the_statistics_default_to_the_current_year(client, clerk, location, year_2026):
    client.force_login(clerk)

    response = client.get(statistics_url(location))

    assert response.status_code == 200
    assert response.context["statistics"].year == 2027
    assert response.context["statistics"].total.damage_cases == 0


@pytest.mark.parametrize("year", ["abc", "1800", "2028", "99999999999999999999999", "-1", "2026.5", "２０２６"])
def test_an_invalid_year_is_400_with_a_clear_message(client, clerk, location, year):
    client.force_login(clerk)

    response = client.get(statistics_url(location, jahr=year))

    assert response.status_code == 400
    [error] = response.context["form"].errors["jahr"]
    assert "2000" in error and "2027" in error  # says which years can be chosen
    assert 'class="field-error"' in content(response)
    assert "statistics" not in response.context


def test_an_unknown_format_is_400(client, clerk, location):
    client.force_login(clerk)

    assert client.get(statistics_url(location, jahr=2026, format="pdf")).status_code == 400


def test_the_statistics_download_as_csv_for_excel(client, clerk, location, year_2026):
    client.force_login(clerk)

    response = client.get(statistics_url(location, jahr=2026, format="csv"), HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="schadensstatistik-mz-test-2026.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3  # header, iPad, total
    assert lines[1] == "2026;iPad;200;3;1,50;1;0;1;0,50;1;12,50"
    assert lines[2].split(";")[2:5] == ["200", "3", "1,50"]


def test_a_formula_in_an_item_name_is_not_run_by_excel(client, clerk, location):
    item_type = factories.make_item_type(location=location, name="=HYPERLINK(\"http://example.org\")", units=1)
    client.force_login(clerk)

    response = client.get(statistics_url(location, jahr=2026, format="csv"))

    assert item_type.name not in [cell for line in response.content.decode("utf-8-sig").splitlines()
                                  for cell in line.split(";")]
    assert "'=HYPERLINK" in response.content.decode("utf-8-sig")
