"""Damage, theft and loss: teachers report their loans online, staff settle each report."""

from decimal import Decimal

import pytest

from catalog.models import UnitStatus
from lending.models import DamageReport, Reservation, ReservationEvent, ReservationStatus, UnitEvent
from lending.services import (
    damage_report_create,
    damage_report_settle,
    takeback_unit,
)
from tests import factories
from tests.lending.conftest import TUESDAY, refused_at_counter, travel_to


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


refused = refused_at_counter


# Reporting ------------------------------------------------------------------------------------------


def test_a_teacher_reports_damage_to_a_unit_of_her_loan(loan, units, teacher_a):
    report = damage_report_create(
        reporter=teacher_a, reservation=loan, unit_or_none=units[0], kind="damage", description="  Display gesprungen "
    )

    report.refresh_from_db()
    assert (report.unit, report.reservation, report.handover.unit, report.reported_by) == (units[0], loan, units[0], teacher_a)
    assert (report.kind, report.source, report.status, report.description) == (
        DamageReport.Kind.DAMAGE, DamageReport.Source.TEACHER, DamageReport.Status.OPEN, "Display gesprungen"
    )
    event = ReservationEvent.objects.filter(reservation=loan).last()
    assert (event.action, event.actor, event.data) == (
        ReservationEvent.Action.DAMAGE_REPORTED, teacher_a, {"report": report.pk, "kind": "damage", "unit": units[0].asset_tag}
    )
    assert UnitEvent.objects.filter(unit=units[0]).last().action == UnitEvent.Action.DAMAGE_REPORTED
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE  # still on loan; the counter decides at take-back


def test_a_teacher_reports_a_theft_of_the_whole_loan(loan, teacher_a):
    report = damage_report_create(
        reporter=teacher_a, reservation=loan, unit_or_none=None, kind="theft", description="Aus dem Klassenraum gestohlen"
    )

    assert (report.unit, report.handover, report.kind) == (None, None, DamageReport.Kind.THEFT)


def test_counter_staff_record_a_report_given_by_phone(loan, units, clerk):
    report = damage_report_create(
        reporter=clerk, reservation=loan, unit_or_none=units[1], kind="loss", description="Anruf der Schule"
    )

    assert report.source == DamageReport.Source.COUNTER


def test_another_teacher_cannot_report_for_this_loan(loan, units, teacher_b):
    assert refused(
        damage_report_create, reporter=teacher_b, reservation=loan, unit_or_none=units[0], kind="damage",
        description="kaputt",
    ) == "not_your_loan"


def test_staff_of_another_counter_cannot_report_for_this_loan(loan, units):
    elsewhere = factories.make_user(role="staff")
    elsewhere.locations.add(factories.make_location())
    assert refused(
        damage_report_create, reporter=elsewhere, reservation=loan, unit_or_none=units[0], kind="damage",
        description="kaputt",
    ) == "not_your_loan"


@pytest.mark.parametrize("unit_index", [0, None])
def test_one_incident_is_reported_once(loan, units, teacher_a, unit_index):
    unit = None if unit_index is None else units[unit_index]
    damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=unit, kind="damage", description="kaputt")
    assert refused(
        damage_report_create, reporter=teacher_a, reservation=loan, unit_or_none=unit, kind="damage",
        description="kaputt (noch einmal abgeschickt)",
    ) == "already_reported"


def test_a_report_of_the_whole_loan_takes_the_unit_that_comes_back_damaged(loan, units, teacher_a, clerk):
    report = damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=None, kind="damage",
                                  description="Eine Brille ist heruntergefallen")

    takeback_unit(unit=units[1], actor=clerk, condition="damaged", note="Glas gesprungen")

    report.refresh_from_db()
    assert DamageReport.objects.count() == 1  # one incident, one case in the statistics
    assert (report.unit, report.handover.unit, report.status) == (units[1], units[1], DamageReport.Status.OPEN)


@pytest.mark.parametrize("status", [ReservationStatus.CONFIRMED, ReservationStatus.RETURNED, ReservationStatus.CANCELLED])
def test_a_loan_that_is_not_out_cannot_be_reported(loan, teacher_a, status):
    Reservation.objects.filter(pk=loan.pk).update(status=status)

    assert refused(
        damage_report_create, reporter=teacher_a, reservation=loan, unit_or_none=None, kind="damage", description="kaputt"
    ) == "not_your_loan"


def test_a_unit_not_out_on_this_loan_cannot_be_reported(loan, units, teacher_a, clerk):
    takeback_unit(unit=units[1], actor=clerk, condition="complete")

    for unit in (units[1], units[2]):
        assert refused(
            damage_report_create, reporter=teacher_a, reservation=loan, unit_or_none=unit, kind="damage",
            description="kaputt",
        ) == "not_your_loan"


@pytest.mark.parametrize(("kind", "description"), [("fire", "verbrannt"), ("damage", "   "), ("damage", None)])
def test_a_report_needs_a_known_kind_and_a_description(loan, teacher_a, kind, description):
    assert refused(
        damage_report_create, reporter=teacher_a, reservation=loan, unit_or_none=None, kind=kind, description=description
    ) == "report_invalid"


# Settling -------------------------------------------------------------------------------------------


@pytest.fixture
def counter_report(loan, units, clerk):
    """The first VR case came back damaged: in maintenance, with an open report."""
    takeback_unit(unit=units[0], actor=clerk, condition="damaged", note="Gurt gerissen")
    return DamageReport.objects.get()


def test_a_repaired_unit_is_available_again(counter_report, units, admin_user):
    damage_report_settle(report=counter_report, actor=admin_user, resolution="repair", compensation_amount="12.5")

    counter_report.refresh_from_db()
    assert (counter_report.status, counter_report.resolution, counter_report.settled_by) == (
        DamageReport.Status.SETTLED, DamageReport.Resolution.REPAIR, admin_user
    )
    assert counter_report.compensation_amount == Decimal("12.50")
    assert counter_report.settled_at is not None
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE
    assert list(UnitEvent.objects.filter(unit=units[0]).values_list("action", flat=True))[-2:] == [
        "status_changed", "damage_settled"
    ]


def test_a_written_off_unit_is_retired(counter_report, units, admin_user):
    damage_report_settle(report=counter_report, actor=admin_user, resolution="write_off")

    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.RETIRED
    counter_report.refresh_from_db()
    assert counter_report.compensation_amount is None


def test_a_lost_unit_written_off_stays_lost(loan, units, admin_user, clerk):
    takeback_unit(unit=units[1], actor=clerk, condition="lost")

    damage_report_settle(report=DamageReport.objects.get(), actor=admin_user, resolution="write_off",
                         compensation_amount=Decimal("350"))

    units[1].refresh_from_db()
    assert units[1].status == UnitStatus.LOST


def test_a_report_without_a_unit_is_settled_alone(loan, teacher_a, admin_user):
    report = damage_report_create(reporter=teacher_a, reservation=loan, unit_or_none=None, kind="damage", description="Kratzer")

    damage_report_settle(report=report, actor=admin_user, resolution="repair")

    report.refresh_from_db()
    assert report.status == DamageReport.Status.SETTLED


def test_a_report_is_settled_once(counter_report, admin_user):
    damage_report_settle(report=counter_report, actor=admin_user, resolution="repair")

    assert refused(damage_report_settle, report=counter_report, actor=admin_user, resolution="write_off") == "report_settled"


@pytest.mark.parametrize(("resolution", "amount"), [
    ("burn", None), ("", None), ("repair", "-1"), ("repair", "abc"), ("repair", "1000000"), ("repair", "NaN"),
])
def test_settling_needs_a_known_resolution_and_a_sensible_amount(counter_report, admin_user, resolution, amount):
    assert refused(
        damage_report_settle, report=counter_report, actor=admin_user, resolution=resolution, compensation_amount=amount
    ) == "resolution_invalid"


def test_a_unit_still_on_loan_must_be_taken_back_before_settling(loan, units, teacher_a, admin_user):
    report = damage_report_create(
        reporter=teacher_a, reservation=loan, unit_or_none=units[0], kind="theft", description="gestohlen"
    )

    assert refused(damage_report_settle, report=report, actor=admin_user, resolution="write_off") == "unit_on_loan"
