"""Empty every booking's old statistics reference (Reservation.borrower_ref): the teachers are
counted in TeacherMonth since 0014. In batches, each its own transaction, so the release still
running meanwhile is never locked out of the bookings for long. The column itself is dropped by
a later release, once no running release reads it.
"""

from django.db import migrations, transaction

BATCH = 5000


def forget_booking_refs(apps, schema_editor):
    Reservation = apps.get_model("lending", "Reservation")
    last = 0
    while True:
        with transaction.atomic():
            pks = list(Reservation.objects.filter(pk__gt=last).exclude(borrower_ref="").order_by("pk")
                       .values_list("pk", flat=True)[:BATCH])
            if not pks:
                return
            Reservation.objects.filter(pk__in=pks).update(borrower_ref="")
            last = pks[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("lending", "0014_teachers_reached_by_month")]

    operations = [migrations.RunPython(forget_booking_refs, migrations.RunPython.noop, atomic=False)]
