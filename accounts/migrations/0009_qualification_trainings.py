"""The statistics count qualifications granted from their own record (QualificationTraining),
which renewals, revocations and deleted accounts leave as it was."""

import django.db.models.deletion
from django.db import migrations, models


def record_existing_grants(apps, schema_editor):
    """One training per grant there is, on the day it was (last) granted: what the statistics
    counted until now."""
    QualificationGrant = apps.get_model("accounts", "QualificationGrant")
    QualificationTraining = apps.get_model("accounts", "QualificationTraining")
    QualificationTraining.objects.bulk_create(
        (QualificationTraining(qualification_id=qualification_id, granted_on=granted_on)
         for qualification_id, granted_on in QualificationGrant.objects.values_list("qualification_id", "granted_on")
         .order_by("pk").iterator()),
        batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_delivery_master_data'),
    ]

    operations = [
        migrations.CreateModel(
            name='QualificationTraining',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('granted_on', models.DateField(verbose_name='granted on')),
                ('qualification', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.qualification', verbose_name='qualification')),
            ],
            options={
                'verbose_name': 'qualification granted',
                'verbose_name_plural': 'qualifications granted',
                'indexes': [models.Index(fields=['granted_on', 'qualification'], name='qualification_training_day')],
            },
        ),
        migrations.RunPython(record_existing_grants, migrations.RunPython.noop),
    ]
