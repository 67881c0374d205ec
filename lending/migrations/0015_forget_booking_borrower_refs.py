"""Empty every booking's old statistics reference (Reservation.borrower_ref): the teachers are
counted in TeacherReach since 0014. Each batch first counts its loans that still name their
teacher (the release before 0014 hands out loans while this runs), then empties them, in one
short transaction, so the release still running is never locked out of the bookings for long. The column itself is dropped by
a later release, once no running release reads it.
"""

import secrets

from django.db import migrations, transaction
from django.db.models.functions import ExtractYear

BATCH = 5000


def _count(apps, bookings):
    """Count the loans among `bookings` that still name their teacher, under her TeacherYear
    (0014's, or a new one): what is counted already is ignored, nothing counts twice."""
    TeacherReach = apps.get_model("lending", "TeacherReach")
    TeacherYear = apps.get_model("lending", "TeacherYear")
    reached = set(bookings.filter(status__in=("handed_out", "returned"), borrower__isnull=False)
                  .annotate(year=ExtractYear("pickup_day"))
                  .values_list("borrower_id", "year", "location_id", "school_type").distinct().order_by())
    if not reached:
        return
    TeacherYear.objects.bulk_create(
        (TeacherYear(borrower_id=borrower_id, year=year, ref=secrets.token_hex(8))
         for borrower_id, year in {(borrower_id, year) for borrower_id, year, _l, _t in reached}),
        batch_size=1000, ignore_conflicts=True)
    refs = {(row.borrower_id, row.year): row.ref for row in TeacherYear.objects.filter(
        borrower_id__in={borrower_id for borrower_id, _y, _l, _t in reached})}
    TeacherReach.objects.bulk_create(
        (TeacherReach(ref=refs[borrower_id, year], year=year, location_id=location_id, school_type=school_type)
         for borrower_id, year, location_id, school_type in reached),
        batch_size=1000, ignore_conflicts=True)


def forget_booking_refs(apps, schema_editor):
    Reservation = apps.get_model("lending", "Reservation")
    last = 0
    while True:
        with transaction.atomic():
            # Locked, so that the old release cannot hand one out between counting and emptying.
            pks = list(Reservation.objects.select_for_update().filter(pk__gt=last).exclude(borrower_ref="")
                       .order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not pks:
                return
            batch = Reservation.objects.filter(pk__in=pks)
            _count(apps, batch)
            batch.update(borrower_ref="")
            last = pks[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("lending", "0014_teachers_reached")]

    operations = [migrations.RunPython(forget_booking_refs, migrations.RunPython.noop, atomic=False)]
