"""The yearly damage, theft and loss figures of the annual report, per item type and in total.

Every expected figure is worked out by hand next to the data it comes from.
"""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Unit, UnitStatus
from lending.models import DamageReport, UnitEvent
from lending.statistics import DamageStatisticsRow, damage_statistics
from tests import factories
from tests.lending.conftest import BERLIN


def at(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def make_units(item_type, count, status=UnitStatus.AVAILABLE):
    start = Unit.objects.count()
    return Unit.objects.bulk_create(
        Unit(item_type=item_type, asset_tag=f"S-{item_type.pk}-{start + number:05d}", status=status)
        for number in range(count)
    )


def change_status(unit, to, when):
    UnitEvent.objects.create(
        unit=unit, at=when, action=UnitEvent.Action.STATUS_CHANGED, data={"from": unit.status, "to": to},
    )
    Unit.objects.filter(pk=unit.pk).update(status=to)
    unit.status = to


def report(unit, kind, when, compensation_amount=None, reservation=None):
    return DamageReport.objects.create(
        unit=unit, reservation=reservation, kind=kind, description="…", reported_at=when,
        source=DamageReport.Source.COUNTER, compensation_amount=compensation_amount,
        status=DamageReport.Status.SETTLED if compensation_amount is not None else DamageReport.Status.OPEN,
    )


@pytest.fixture
def ipads(location):
    """An iPad item type with 200 units in use in 2026: 197 available, 1 retired in June 2026
    (in use for half the year), 1 retired in 2024 but back in service since 2025, 1 in repair.
    A 201st unit was retired at 23:30 on New Year's Eve 2025 and does not count for 2026."""
    item_type = factories.make_item_type(location=location, name="iPad-Klassensatz", slug="ipad", units=0)
    units = make_units(item_type, 197)
    retired_in_2026, back_in_service, in_repair, retired_before = make_units(item_type, 4)
    change_status(retired_in_2026, UnitStatus.RETIRED, at(2026, 6, 15))
    change_status(back_in_service, UnitStatus.RETIRED, at(2024, 3, 1))
    change_status(back_in_service, UnitStatus.AVAILABLE, at(2025, 2, 1))
    change_status(in_repair, UnitStatus.MAINTENANCE, at(2025, 11, 3))
    change_status(retired_before, UnitStatus.RETIRED, at(2025, 12, 31, 23, 30))
    return item_type, units


def test_it_counts_the_units_in_use_and_the_cases_of_the_year_per_item_type(location, item_type, ipads):
    ipad, units = ipads
    vr_cases = list(item_type.units.order_by("pk"))  # 3 units
    # 2026 for the iPads: 3 damage cases (one just after midnight on New Year in Berlin, still
    # 2025 in UTC), 2 thefts, 1 loss; two cases with compensation (12.50 + 50.00), one settled at 0.
    report(units[0], "damage", at(2026, 1, 1, 0, 30), compensation_amount=Decimal("12.50"))
    report(units[1], "damage", at(2026, 5, 4), compensation_amount=Decimal("0"))
    report(units[2], "damage", at(2026, 12, 31, 23, 0), compensation_amount=Decimal("50.00"))
    report(units[3], "theft", at(2026, 3, 3))
    report(units[4], "theft", at(2026, 3, 4))
    report(units[5], "loss", at(2026, 9, 9))
    # 2026 for the VR cases: 1 damage case with 80.00 compensation.
    report(vr_cases[0], "damage", at(2026, 10, 1), compensation_amount=Decimal("80.00"))
    # Not counted: the years before and after (in Berlin time), and another counter.
    report(units[6], "damage", at(2025, 12, 31, 23, 30))
    report(units[7], "theft", at(2027, 1, 1, 0, 30))
    other_location = factories.make_location()
    other_item = factories.make_item_type(location=other_location, name="Ozobot", units=1)
    report(other_item.units.get(), "damage", at(2026, 4, 1))

    statistics = damage_statistics(year=2026, location=location)

    ipad_row, vr_row = statistics.rows
    assert (ipad_row.item_type, ipad_row.label) == (ipad, "iPad-Klassensatz")
    assert (ipad_row.units, ipad_row.damage_cases, ipad_row.thefts, ipad_row.losses, ipad_row.theft_and_loss) == (
        200, 3, 2, 1, 3
    )
    assert ipad_row.damage_rate == Decimal("1.50")  # 3 / 200
    assert ipad_row.theft_loss_rate == Decimal("1.50")  # 3 / 200
    assert (ipad_row.compensation_cases, ipad_row.compensation_sum) == (2, Decimal("62.50"))
    assert (vr_row.item_type, vr_row.units, vr_row.damage_cases, vr_row.theft_and_loss) == (item_type, 3, 1, 0)
    assert vr_row.damage_rate == Decimal("33.33")  # 1 / 3
    assert vr_row.theft_loss_rate == Decimal("0.00")
    assert (vr_row.compensation_cases, vr_row.compensation_sum) == (1, Decimal("80.00"))
    total = statistics.total
    assert total.is_total and statistics.all_rows == [ipad_row, vr_row, total]
    assert (total.units, total.damage_cases, total.thefts, total.losses) == (203, 4, 2, 1)
    assert total.damage_rate == Decimal("1.97")  # 4 / 203 = 1.9704 %
    assert total.theft_loss_rate == Decimal("1.48")  # 3 / 203 = 1.4778 %
    assert (total.compensation_cases, total.compensation_sum) == (3, Decimal("142.50"))


def test_the_annual_report_figures_come_out_as_printed():
    # Dortmund 2025: 83,596 iPads, 1,525 damage cases = 1.82 %, 121 thefts and losses = 0.14 %.
    row = DamageStatisticsRow(label="iPads", units=83596, damage_cases=1525, thefts=111, losses=10)
    assert (row.damage_rate, row.theft_and_loss, row.theft_loss_rate) == (Decimal("1.82"), 121, Decimal("0.14"))


def test_dortmunds_2025_tables_come_out_of_the_database_and_onto_the_page(client, location, clerk):
    """The annual report's 2025 rows, from data of that size: 83,596 iPads, 1,525 damage cases
    (1,82 %), 111 thefts and 10 losses (121, 0,14 %); 1,000 units retired in 2024 do not count."""
    ipads = factories.make_item_type(location=location, name="iPad", slug="ipad", units=0)
    units = make_units(ipads, 83596)
    retired = make_units(ipads, 1000, status=UnitStatus.RETIRED)
    UnitEvent.objects.bulk_create(
        UnitEvent(unit=unit, at=at(2024, 7, 1), action=UnitEvent.Action.STATUS_CHANGED,
                  data={"from": UnitStatus.AVAILABLE, "to": UnitStatus.RETIRED})
        for unit in retired
    )
    kinds = ["damage"] * 1525 + ["theft"] * 111 + ["loss"] * 10
    DamageReport.objects.bulk_create(
        DamageReport(unit=units[number * 50], kind=kind, description="…", source=DamageReport.Source.TEACHER,
                     reported_at=at(2025, 1 + number % 12, 1 + number % 28))
        for number, kind in enumerate(kinds)
    )
    DamageReport.objects.bulk_create(  # the year before and after count for their own years
        DamageReport(unit=units[number], kind="damage", description="…", source=DamageReport.Source.TEACHER,
                     reported_at=when)
        for number, when in enumerate([at(2024, 12, 31, 23, 59), at(2026, 1, 1, 0, 1)])
    )

    [row] = damage_statistics(year=2025, location=location).rows

    assert (row.units, row.damage_cases, row.thefts, row.losses, row.theft_and_loss) == (83596, 1525, 111, 10, 121)
    assert (row.damage_rate, row.theft_loss_rate) == (Decimal("1.82"), Decimal("0.14"))
    client.force_login(clerk)
    page = client.get(reverse("frontend:counter_statistics", args=[location.slug]), {"jahr": "2025"})
    text = page.content.decode()
    assert page.status_code == 200 and "83.596" in text and "1.525" in text
    assert "1,82" in text and "0,14" in text


def test_a_unit_in_use_for_part_of_the_year_counts_for_it(location, ipads):
    statistics = damage_statistics(year=2025, location=location)

    # In 2025 the unit retired on New Year's Eve was still in use, and so was the one back in
    # service since February: 201 units.
    assert statistics.rows[0].units == 201
    assert statistics.rows[0].damage_rate == Decimal("0.00")


def test_all_counters_together_when_no_location_is_given(location, item_type):
    other_item = factories.make_item_type(location=factories.make_location(), name="Ozobot", units=1)
    report(other_item.units.get(), "loss", at(2026, 4, 1))
    report(item_type.units.first(), "damage", at(2026, 4, 1))

    statistics = damage_statistics(year=2026)

    assert {row.label: (row.units, row.damage_cases, row.losses) for row in statistics.rows} == {
        "VR-Koffer": (3, 1, 0), "Ozobot": (1, 0, 1)
    }
    assert (statistics.total.units, statistics.total.damage_cases, statistics.total.losses) == (4, 1, 1)
    assert statistics.total.theft_loss_rate == Decimal("25.00")


def test_a_report_for_a_whole_loan_has_its_own_row_and_counts_in_the_total(location, school_a, teacher_a, item_type):
    reservation = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 10),
    )
    report(None, "theft", at(2026, 3, 5), reservation=reservation)
    # A whole-loan report of another counter's booking is not this counter's.
    other_location = factories.make_location()
    other = factories.make_reservation(
        location=other_location, school=school_a, lines={factories.make_item_type(location=other_location): 1},
        pickup_day=datetime.date(2026, 3, 3), return_day=datetime.date(2026, 3, 10),
    )
    report(None, "theft", at(2026, 3, 5), reservation=other)

    statistics = damage_statistics(year=2026, location=location)

    vr_row, whole_loan = statistics.rows
    assert (vr_row.units, vr_row.thefts) == (3, 0)
    assert (whole_loan.item_type, whole_loan.units, whole_loan.thefts, whole_loan.theft_loss_rate) == (None, 0, 1, None)
    assert (statistics.total.units, statistics.total.thefts, statistics.total.theft_loss_rate) == (3, 1, Decimal("33.33"))


def test_an_item_type_without_units_that_year_has_no_rate(location):
    item_type = factories.make_item_type(location=location, name="Alte Kamera", units=1)
    unit = item_type.units.get()
    change_status(unit, UnitStatus.RETIRED, at(2024, 1, 10))
    report(unit, "damage", at(2026, 2, 2))  # found damaged when it was sorted out
    factories.make_item_type(location=location, name="Ganz ohne Exemplare", units=0)

    statistics = damage_statistics(year=2026, location=location)

    [row] = statistics.rows  # the item type with neither units nor cases is left out
    assert (row.units, row.damage_cases, row.damage_rate, row.theft_loss_rate) == (0, 1, None, None)
    assert statistics.total.damage_rate is None


def test_an_empty_year_has_no_rows_and_a_zero_total(location):
    statistics = damage_statistics(year=2026, location=location)

    assert statistics.rows == []
    assert (statistics.total.units, statistics.total.damage_cases, statistics.total.compensation_sum) == (0, 0, Decimal("0.00"))


def test_it_needs_the_same_few_queries_for_many_item_types(location, django_assert_max_num_queries):
    for number in range(12):
        item_type = factories.make_item_type(location=location, name=f"Artikel {number:02d}", units=0)
        first, second = make_units(item_type, 2)
        change_status(second, UnitStatus.RETIRED, at(2025, 6, 1))
        report(first, "damage", at(2026, 6, 1), compensation_amount=Decimal("5"))

    with django_assert_max_num_queries(3):
        statistics = damage_statistics(year=2026, location=location)
        rows = [(row.units, row.damage_cases, row.damage_rate, row.compensation_sum) for row in statistics.all_rows]

    assert rows == [(1, 1, Decimal("100.00"), Decimal("5.00"))] * 12 + [(12, 12, Decimal("100.00"), Decimal("60.00"))]
