"""The catalogue's version: every change that a cached page shows raises it, in the same
transaction; a refused or rolled-back change does not."""

import datetime

import pytest
from django.db import transaction

from catalog.models import Location, UnitStatus
from catalog.services import closures_import_holidays
from catalog.versions import catalogue_changed, catalogue_version
from lending.exceptions import BookingError
from lending.models import Handover, ReservationStatus
from lending.services import (
    damage_report_settle,
    handover_assign_unit,
    handover_complete,
    reservation_cancel,
    reservation_change,
    reservation_create,
    reservation_extend,
    reservation_mark_no_show,
    takeback_unit,
)
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY, TUESDAY, WEDNESDAY, travel_to


@pytest.fixture(autouse=True)
def tuesday(time_machine):
    travel_to(time_machine, TUESDAY)


def version_of(location):
    return Location.objects.values_list("version", flat=True).get(pk=location.pk)


@pytest.fixture
def booking(teacher_a, item_type):
    return factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY,
                          return_day=NEXT_WEDNESDAY)


@pytest.fixture
def loan(location, school_a, teacher_a, item_type, clerk):
    """One VR case handed out today, back tomorrow."""
    reservation = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                             lines={item_type: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    unit = item_type.units.first()
    handover_assign_unit(reservation=reservation, unit=unit, actor=clerk)
    handover_complete(reservation=reservation, actor=clerk)
    return reservation, unit


def test_the_catalogue_version_moves_with_any_location(location, neighbour_counter):
    before = catalogue_version()
    catalogue_changed(location_ids=[neighbour_counter.pk])
    assert catalogue_version() != before


def test_it_raises_only_the_given_locations(location, neighbour_counter):
    mine, theirs = version_of(location), version_of(neighbour_counter)
    catalogue_changed(location_ids=[location.pk])
    assert (version_of(location), version_of(neighbour_counter)) == (mine + 1, theirs)
    catalogue_changed()
    assert (version_of(location), version_of(neighbour_counter)) == (mine + 2, theirs + 1)


def test_a_new_or_removed_location_changes_the_version(location):
    before = catalogue_version()
    other = Location.objects.create(name="Neu", slug="neu")
    with_new = catalogue_version()
    other.delete()
    assert len({before, with_new, catalogue_version()}) == 2 and with_new != before


def test_raising_it_keeps_the_locations_own_change_time(location):
    updated_at = Location.objects.get(pk=location.pk).updated_at
    catalogue_changed()
    # Calendar feeds show a change of the counter (hours, address) by its updated_at.
    assert Location.objects.get(pk=location.pk).updated_at == updated_at


def test_a_booking_raises_its_locations_version(location, neighbour_counter, teacher_a, item_type):
    mine, theirs = version_of(location), version_of(neighbour_counter)
    factories.book(borrower=teacher_a, lines={item_type.pk: 1}, pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    assert (version_of(location), version_of(neighbour_counter)) == (mine + 1, theirs)


def test_a_refused_booking_leaves_it(location, teacher_a, item_type):
    before = version_of(location)
    with pytest.raises(BookingError):
        factories.book(borrower=teacher_a, lines={item_type.pk: 99}, pickup_day=NEXT_TUESDAY)
    assert version_of(location) == before


def test_a_rolled_back_booking_leaves_it(location, teacher_a, item_type):
    before = version_of(location)
    with pytest.raises(RuntimeError), transaction.atomic():
        reservation_create(borrower=teacher_a, school=teacher_a.schools.first(), pickup_day=NEXT_TUESDAY,
                           pickup_slot=datetime.time(9), return_day=NEXT_WEDNESDAY, lines={item_type.pk: 1})
        raise RuntimeError("the request failed after the booking")
    assert version_of(location) == before


@pytest.mark.parametrize("change", [
    lambda booking, actor: reservation_change(reservation=booking, actor=actor, return_day=booking.return_day
                                              + datetime.timedelta(days=7)),
    lambda booking, actor: reservation_cancel(reservation=booking, actor=actor),
    lambda booking, actor: reservation_extend(reservation=booking, actor=actor, return_day=booking.return_day
                                              + datetime.timedelta(days=6)),
], ids=["change", "cancel", "extend"])
def test_every_change_of_a_booking_raises_it(location, booking, teacher_a, change):
    before = version_of(location)
    change(booking, teacher_a)
    assert version_of(location) == before + 1


def test_a_no_show_raises_it(location, school_a, teacher_a, item_type, clerk):
    reservation = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                             lines={item_type: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    before = version_of(location)
    reservation_mark_no_show(reservation=reservation, actor=clerk)
    assert version_of(location) == before + 1


def test_a_hand_over_raises_it_once_confirmed(location, school_a, teacher_a, item_type, clerk):
    reservation = factories.make_reservation(location=location, school=school_a, borrower=teacher_a,
                                             lines={item_type: 1}, pickup_day=TUESDAY, return_day=WEDNESDAY)
    before = version_of(location)
    handover_assign_unit(reservation=reservation, unit=item_type.units.first(), actor=clerk)
    # A unit on the desk changes nothing the catalogue shows; the confirmed loan does (handed
    # out, it holds its units past the return day until they are back).
    assert version_of(location) == before
    handover_complete(reservation=reservation, actor=clerk)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.HANDED_OUT
    assert version_of(location) == before + 1


def test_a_take_back_and_a_settled_damage_raise_it(location, loan, clerk, admin_user):
    reservation, unit = loan
    before = version_of(location)
    takeback_unit(unit=unit, actor=clerk, condition="damaged", note="Riss im Gehäuse")
    assert version_of(location) == before + 1
    report = Handover.objects.get(unit=unit).damage_reports.get()
    damage_report_settle(report=report, actor=admin_user, resolution="repair")
    unit.refresh_from_db()
    assert unit.status == UnitStatus.AVAILABLE
    assert version_of(location) == before + 2


def test_importing_holidays_raises_it(location):
    before = version_of(location)
    closures_import_holidays(location=location, year=2027)
    assert version_of(location) == before + 1
