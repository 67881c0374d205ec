"""Teachers reached move from a reference on each booking (Reservation.borrower_ref, which linked a
purged loan back to the teacher's later bookings of the year) to TeacherReach rows no booking
points at. Existing loans are counted into TeacherReach under fresh references, and the teachers
whose bookings still name them get their TeacherYear; 0015 then empties the old references.

Going back to 0013 keeps the new tables' rows but cannot restore the old references.
"""

import secrets
import uuid

import django.db.models.deletion
import lending.models
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import ExtractYear

LOANS = ("handed_out", "returned")


def count_teachers(apps, schema_editor):
    Reservation = apps.get_model("lending", "Reservation")
    TeacherReach = apps.get_model("lending", "TeacherReach")
    TeacherYear = apps.get_model("lending", "TeacherYear")
    loans = Reservation.objects.filter(status__in=LOANS).annotate(year=ExtractYear("pickup_day"))
    fresh, reached = {}, set()
    # Loans with the old reference: one fresh reference for each old one.
    for old, year, location_id, school_type in (
            loans.exclude(borrower_ref="").values_list("borrower_ref", "year", "location_id", "school_type")
            .distinct().order_by()):
        reached.add((fresh.setdefault(old, secrets.token_hex(8)), year, location_id, school_type))
    years = {}
    for borrower_id, old in (Reservation.objects.exclude(borrower_ref="").filter(borrower__isnull=False)
                             .values_list("borrower_id", "borrower_ref").distinct().order_by()):
        if old in fresh:
            years.setdefault((borrower_id, int(old[:4])), fresh[old])
    # Loans written without one (by a release before 0013 while it migrated): by their borrower.
    for borrower_id, year, location_id, school_type in (
            loans.filter(borrower_ref="", borrower__isnull=False)
            .values_list("borrower_id", "year", "location_id", "school_type").distinct().order_by()):
        ref = years.setdefault((borrower_id, year), secrets.token_hex(8))
        reached.add((ref, year, location_id, school_type))
    TeacherYear.objects.bulk_create(
        (TeacherYear(borrower_id=borrower_id, year=year, ref=ref) for (borrower_id, year), ref in years.items()),
        batch_size=1000, ignore_conflicts=True)
    TeacherReach.objects.bulk_create(
        (TeacherReach(ref=ref, year=year, location_id=location_id, school_type=school_type)
         for ref, year, location_id, school_type in reached),
        batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0007_delivery_master_data'),
        ('lending', '0013_statistics_borrower_ref_refused_requests'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='TeacherReach',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('ref', models.CharField(max_length=16, verbose_name='reference')),
                ('year', models.PositiveSmallIntegerField(verbose_name='year')),
                ('school_type', models.CharField(blank=True, choices=[('grundschule', 'Primary school (Grundschule)'), ('hauptschule', 'Hauptschule'), ('realschule', 'Realschule'), ('gymnasium', 'Gymnasium'), ('gesamtschule', 'Comprehensive school (Gesamtschule)'), ('foerderschule', 'Special needs school (Förderschule)'), ('berufskolleg', 'Vocational college (Berufskolleg)'), ('weiterbildungskolleg', 'Adult education college (Weiterbildungskolleg)')], max_length=30, verbose_name='school type')),
                ('location', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.location', verbose_name='location')),
            ],
            options={
                'verbose_name': 'teacher reached in a year',
                'verbose_name_plural': 'teachers reached by year',
                'indexes': [models.Index(fields=['year', 'location', 'school_type', 'ref'], name='teacher_reach_count')],
                'constraints': [models.UniqueConstraint(fields=('ref', 'year', 'location', 'school_type'), name='teacher_reach_once')],
            },
        ),
        migrations.CreateModel(
            name='TeacherYear',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('year', models.PositiveSmallIntegerField(verbose_name='year')),
                ('ref', models.CharField(default=lending.models.new_teacher_ref, max_length=16, unique=True, verbose_name='reference')),
                ('borrower', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='borrower')),
            ],
            options={
                'verbose_name': "teacher's statistics reference",
                'verbose_name_plural': "teachers' statistics references",
                'constraints': [models.UniqueConstraint(fields=('borrower', 'year'), name='teacher_year_once')],
            },
        ),
        migrations.RunPython(count_teachers, migrations.RunPython.noop, atomic=True),
    ]
