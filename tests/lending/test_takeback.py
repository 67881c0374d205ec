"""Take-back at the counter: closing a unit's loan with its condition, late returns, the booking's end."""

import datetime

import pytest

from catalog.models import UnitStatus
from lending.availability import availability
from lending.models import DamageReport, Handover, ReservationEvent, ReservationStatus, UnitEvent
from lending.selectors import reservation_handover_state, unit_history, unit_open_handover
from lending.services import (
    damage_report_create,
    handover_assign_unit,
    handover_complete,
    takeback_unit,
)
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, TUESDAY, WEDNESDAY, refused_at_counter, travel_to


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


refused = refused_at_counter


def test_taking_back_one_unit_complete_leaves_the_booking_partly_returned(loan, units, clerk):
    handover = takeback_unit(unit=units[0], actor=clerk, condition="complete", note="alles da")

    handover.refresh_from_db()
    assert handover.returned_by == clerk and handover.returned_at is not None
    assert (handover.return_condition, handover.return_note, handover.returned_late) == ("complete", "alles da", False)
    loan.refresh_from_db()
    assert loan.status == ReservationStatus.HANDED_OUT
    assert reservation_handover_state(loan) == "partly_returned"
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.AVAILABLE
    assert unit_open_handover(units[0]) is None
    assert unit_open_handover(units[1]).reservation == loan
    assert DamageReport.objects.count() == 0
    event = ReservationEvent.objects.filter(reservation=loan).last()
    assert (event.action, event.data["unit"], event.data["condition"]) == (
        ReservationEvent.Action.UNIT_RETURNED, units[0].asset_tag, "complete"
    )


def test_when_the_last_unit_is_back_the_booking_is_returned(loan, units, clerk):
    takeback_unit(unit=units[0], actor=clerk, condition="complete")
    takeback_unit(unit=units[1], actor=clerk, condition="complete")

    loan.refresh_from_db()
    assert loan.status == ReservationStatus.RETURNED
    assert reservation_handover_state(loan) == "returned"
    returned = ReservationEvent.objects.get(reservation=loan, action=ReservationEvent.Action.RETURNED)
    assert (returned.actor, returned.data) == (clerk, {"late": False})


def test_a_booking_handed_out_partly_is_returned_when_what_went_out_is_back(
    location, school_a, teacher_a, item_type, units, clerk
):
    reservation = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 3},
        pickup_day=TUESDAY, return_day=WEDNESDAY,
    )
    handover_assign_unit(reservation=reservation, unit=units[0], actor=clerk)
    handover_complete(reservation=reservation, actor=clerk)

    takeback_unit(unit=units[0], actor=clerk, condition="complete")

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.RETURNED


def test_a_return_after_the_return_day_is_marked_late(loan, units, clerk, time_machine):
    travel_to(time_machine, NEXT_WEDNESDAY)
    takeback_unit(unit=units[0], actor=clerk, condition="complete")
    travel_to(time_machine, NEXT_WEDNESDAY + datetime.timedelta(days=6))
    takeback_unit(unit=units[1], actor=clerk, condition="complete")

    late = dict(Handover.objects.values_list("unit_id", "returned_late"))
    assert late == {units[0].pk: False, units[1].pk: True}
    assert ReservationEvent.objects.get(reservation=loan, action=ReservationEvent.Action.RETURNED).data == {"late": True}


@pytest.mark.parametrize("condition", ["damaged", "parts_missing"])
def test_a_damaged_unit_goes_to_maintenance_with_a_damage_report(loan, units, item_type, clerk, condition):
    handover = takeback_unit(unit=units[0], actor=clerk, condition=condition, note="Linse zerkratzt")

    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.MAINTENANCE
    report = DamageReport.objects.get()
    assert (report.unit, report.reservation, report.handover, report.kind, report.source, report.status) == (
        units[0], loan, handover, DamageReport.Kind.DAMAGE, DamageReport.Source.COUNTER, DamageReport.Status.OPEN
    )
    assert (report.description, report.reported_by) == ("Linse zerkratzt", clerk)
    actions = list(UnitEvent.objects.filter(unit=units[0]).values_list("action", flat=True))
    assert actions == ["handed_out", "returned", "status_changed", "damage_reported"]
    status_change = UnitEvent.objects.get(unit=units[0], action=UnitEvent.Action.STATUS_CHANGED)
    assert status_change.data == {"from": "available", "to": "maintenance", "reason": condition}
    # The unit in maintenance no longer counts as loanable.
    entry = availability(item_type_ids=[item_type.pk], first_day=NEXT_TUESDAY, last_day=NEXT_TUESDAY, today=TUESDAY)
    assert entry[item_type.pk].on(NEXT_TUESDAY).loanable == 2


def test_a_lost_unit_is_marked_lost_with_a_loss_report(loan, units, clerk):
    takeback_unit(unit=units[0], actor=clerk, condition="lost", note="im Bus liegen gelassen")

    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.LOST
    assert DamageReport.objects.get().kind == DamageReport.Kind.LOSS


def test_a_teachers_earlier_report_is_followed_up_not_doubled(loan, units, teacher_a, clerk):
    report = damage_report_create(
        reporter=teacher_a, reservation=loan, unit_or_none=units[0], kind="damage", description="Display gesprungen"
    )

    takeback_unit(unit=units[0], actor=clerk, condition="damaged")

    assert list(DamageReport.objects.values_list("pk", flat=True)) == [report.pk]
    units[0].refresh_from_db()
    assert units[0].status == UnitStatus.MAINTENANCE


def test_it_refuses_a_unit_that_is_not_on_loan(loan, units, clerk):
    assert refused(takeback_unit, unit=units[2], actor=clerk, condition="complete") == "unit_not_on_loan"


def test_it_refuses_a_unit_taken_back_already(loan, units, clerk):
    takeback_unit(unit=units[0], actor=clerk, condition="complete")

    assert refused(takeback_unit, unit=units[0], actor=clerk, condition="complete") == "unit_not_on_loan"


@pytest.mark.parametrize("condition", ["", "broken", None])
def test_it_refuses_an_unknown_condition(loan, units, clerk, condition):
    assert refused(takeback_unit, unit=units[0], actor=clerk, condition=condition) == "condition_invalid"


def test_taking_back_before_the_handover_is_confirmed_undoes_the_scan(
    location, school_a, teacher_a, item_type, units, clerk
):
    reservation = factories.make_reservation(
        location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
        pickup_day=TUESDAY, return_day=WEDNESDAY,
    )
    handover_assign_unit(reservation=reservation, unit=units[0], actor=clerk)

    takeback_unit(unit=units[0], actor=clerk, condition="complete")

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED
    assert reservation_handover_state(reservation) == "waiting"
    assert Handover.objects.count() == 0
    assert UnitEvent.objects.filter(unit=units[0]).last().data["undone"] is True


def test_a_unit_back_on_the_shelf_can_go_to_the_next_borrower(loan, units, location, school_b, teacher_b, item_type, clerk):
    takeback_unit(unit=units[0], actor=clerk, condition="complete")
    next_booking = factories.make_reservation(
        location=location, school=school_b, borrower=teacher_b, lines={item_type: 1},
        pickup_day=TUESDAY, return_day=WEDNESDAY,
    )

    handover_assign_unit(reservation=next_booking, unit=units[0], actor=clerk)

    assert unit_open_handover(units[0]).reservation == next_booking


def test_the_unit_history_shows_every_step_newest_first(loan, units, clerk):
    takeback_unit(unit=units[0], actor=clerk, condition="damaged")

    history = list(unit_history(units[0]))

    assert [event.action for event in history] == ["damage_reported", "status_changed", "returned", "handed_out"]
    assert {event.actor for event in history} == {clerk}


def test_a_loan_back_early_frees_its_last_days_for_the_waiting_list(
        loan, units, clerk, item_type, school_b, teacher_b, django_capture_on_commit_callbacks):
    from lending.models import WaitlistEntry
    from lending.waitlist import waitlist_join

    factories.make_reservation(location=item_type.location, school=school_b, lines={item_type: 1},
                               pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    entry = waitlist_join(borrower=teacher_b, school=school_b, item_type=item_type, quantity=2,
                          pickup_day=NEXT_TUESDAY, pickup_slot=datetime.time(10, 0), return_day=NEXT_WEDNESDAY)
    with django_capture_on_commit_callbacks(execute=True):
        takeback_unit(unit=units[0], actor=clerk, condition="complete")
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING  # one unit still out: the booking holds on
    with django_capture_on_commit_callbacks(execute=True):
        takeback_unit(unit=units[1], actor=clerk, condition="complete")
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
