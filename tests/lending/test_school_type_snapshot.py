"""A booking keeps its school's type from the day it was made (issue 14's groundwork): the annual
report counts loans by school type, and past years must not move when a school changes type or
when personal data is purged."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import SchoolType
from accounts.services import personal_data_purge
from lending.models import Reservation, ReservationStatus
from tests import factories
from tests.lending.conftest import NEXT_TUESDAY, NEXT_WEDNESDAY

pytestmark = pytest.mark.usefixtures("monday")


def test_a_booking_keeps_the_school_type_it_was_made_with(teacher_a, school_a, item_type):
    reservation = factories.book(borrower=teacher_a, lines={item_type: 1}, pickup_day=NEXT_TUESDAY,
                                 return_day=NEXT_WEDNESDAY)
    assert Reservation.objects.get(pk=reservation.pk).school_type == SchoolType.GYMNASIUM

    school_a.school_type = SchoolType.GESAMTSCHULE  # the school merged into a comprehensive one
    school_a.save()
    reservation.refresh_from_db()
    reservation.save()

    assert Reservation.objects.get(pk=reservation.pk).school_type == SchoolType.GYMNASIUM


def test_the_school_type_stays_when_the_person_goes(teacher_a, school_a, location, item_type):
    old = factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                                     pickup_day=datetime.date(2024, 3, 5), return_day=datetime.date(2024, 3, 6),
                                     status=ReservationStatus.RETURNED)

    personal_data_purge(older_than_days=365, today=datetime.date(2027, 3, 1))

    old.refresh_from_db()
    assert old.borrower is None and old.school_type == SchoolType.GYMNASIUM


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_bookings_their_schools_type_today(school_a, location, item_type):
    booking = factories.make_reservation(location=location, school=school_a, lines={item_type: 1},
                                         pickup_day=NEXT_TUESDAY, return_day=NEXT_WEDNESDAY)
    Reservation.objects.filter(pk=booking.pk).update(school_type="")
    executor = MigrationExecutor(connection)
    executor.migrate([("lending", "0011_reservation_hold_window_with_hold_days")])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("lending", "0012_reservation_school_type")])

    # Read with only this column: later migrations' columns are not there yet.
    assert Reservation.objects.filter(pk=booking.pk).values_list("school_type", flat=True).get() == SchoolType.GYMNASIUM
    _migrate_to_latest()


def _migrate_to_latest():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_bookings_one_statistics_reference_per_teacher_and_year(
        teacher_a, teacher_b, school_a, location, item_type):
    def booking(borrower, day):
        return factories.make_reservation(location=location, school=school_a, borrower=borrower,
                                          lines={item_type: 1}, pickup_day=day, return_day=day,
                                          status=ReservationStatus.RETURNED)
    first, second = booking(teacher_a, datetime.date(2025, 3, 4)), booking(teacher_a, datetime.date(2025, 9, 2))
    next_year, colleague = booking(teacher_a, datetime.date(2026, 1, 13)), booking(teacher_b, datetime.date(2025, 3, 4))
    purged = booking(None, datetime.date(2025, 3, 4))
    Reservation.objects.update(borrower_ref="")
    executor = MigrationExecutor(connection)
    executor.migrate([("lending", "0012_reservation_school_type")])
    _migrate_to_latest()

    refs = dict(Reservation.objects.values_list("pk", "borrower_ref"))
    assert refs[first.pk] == refs[second.pk] and refs[first.pk].startswith("2025-")
    assert refs[next_year.pk].startswith("2026-")
    assert len({refs[first.pk], refs[next_year.pk], refs[colleague.pk]}) == 3
    assert refs[purged.pk] == ""  # who borrowed it is not known any more
