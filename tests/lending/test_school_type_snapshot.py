"""A booking keeps its school's type from the day it was made (issue 14's groundwork): the annual
report counts loans by school type, and past years must not move when a school changes type or
when personal data is purged."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import QualificationGrant, QualificationTraining, SchoolType
from accounts.services import personal_data_purge
from lending.figures import Period, statistics_report
from lending.models import Reservation, ReservationStatus, TeacherReach, TeacherYear
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
def test_the_migrations_count_existing_loans_teachers_by_month_and_empty_the_booking_references(
        teacher_a, teacher_b, school_a, location, item_type):
    def booking(borrower, day, status=ReservationStatus.RETURNED):
        return factories.make_reservation(location=location, school=school_a, borrower=borrower,
                                          lines={item_type: 1}, pickup_day=day, return_day=day, status=status)
    booking(teacher_a, datetime.date(2025, 3, 4)), booking(teacher_a, datetime.date(2025, 9, 2))
    booking(teacher_a, datetime.date(2026, 1, 13)), booking(teacher_b, datetime.date(2025, 3, 4))
    booking(teacher_b, datetime.date(2025, 3, 20))  # the same teacher-month again
    booking(None, datetime.date(2025, 3, 4))  # who borrowed it is not known any more
    booking(teacher_b, datetime.date(2025, 6, 3), status=ReservationStatus.CANCELLED)  # no loan
    executor = MigrationExecutor(connection)
    executor.migrate([("lending", "0012_reservation_school_type")])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("lending", "0013_statistics_borrower_ref_refused_requests")])
    # 0013 gave each teacher one reference per year (the column is there until a later release).
    refs = set(Reservation.objects.exclude(borrower_ref="").values_list("borrower_id", "borrower_ref"))
    assert len(refs) == 3  # teacher_a's 2025 and 2026, teacher_b's 2025 (also on her cancelled booking)…
    # … and a loan the release before 0013 wrote while it migrated has none.
    # (Written without save(), which counts into tables 0014 creates.)
    november = datetime.date(2025, 11, 5)
    Reservation.objects.bulk_create([Reservation(
        location=location, school=school_a, school_type=school_a.school_type, borrower=teacher_b,
        pickup_day=november, pickup_slot=datetime.time(10), return_day=november, status=ReservationStatus.RETURNED)])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("lending", "0014_teachers_reached")])
    # A loan the old release handed out after 0014 counted: it has the old kind of reference.
    january = datetime.date(2026, 1, 20)
    Reservation.objects.bulk_create([Reservation(
        location=location, school=school_a, school_type=school_a.school_type, borrower=teacher_b,
        borrower_ref="2026-00112233aabbccdd", pickup_day=january, pickup_slot=datetime.time(10),
        return_day=january, status=ReservationStatus.RETURNED)])
    _migrate_to_latest()

    assert set(Reservation.objects.values_list("borrower_ref", flat=True)) == {""}
    years = {(row.borrower_id, row.year): row.ref for row in TeacherYear.objects.all()}
    assert set(years) == {(teacher_a.pk, 2025), (teacher_a.pk, 2026), (teacher_b.pk, 2025), (teacher_b.pk, 2026)}
    assert len(set(years.values())) == 4
    gymnasium = SchoolType.GYMNASIUM
    assert set(TeacherReach.objects.values_list("ref", "year", "location_id", "school_type")) == {
        (years[teacher, year], year, location.pk, gymnasium)
        for teacher, year in [(teacher_a.pk, 2025), (teacher_a.pk, 2026), (teacher_b.pk, 2025), (teacher_b.pk, 2026)]}
    report = statistics_report(period=Period.year(2025), today=datetime.date(2026, 6, 1))
    assert report.headline["teachers"] == 2 and report.headline["loans"] == 6


@pytest.mark.django_db(transaction=True)
def test_the_migration_records_one_training_per_existing_grant(teacher_a, teacher_b):
    vr, maker = factories.make_qualification(name="VR"), factories.make_qualification(name="Maker")
    for teacher, qualification, day in [(teacher_a, vr, datetime.date(2025, 3, 4)),
                                        (teacher_a, maker, datetime.date(2025, 9, 2)),
                                        (teacher_b, vr, datetime.date(2026, 1, 13))]:
        QualificationGrant.objects.create(user=teacher, qualification=qualification, granted_on=day)
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0008_delivery_master_data")])
    _migrate_to_latest()

    assert sorted(QualificationTraining.objects.values_list("qualification_id", "granted_on")) == sorted(
        [(vr.pk, datetime.date(2025, 3, 4)), (maker.pk, datetime.date(2025, 9, 2)), (vr.pk, datetime.date(2026, 1, 13))])
