import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fsck", "0001_initial"),
        ("instances", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="fsckrun",
            name="instance",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="fsck_runs", to="instances.instance"),
        ),
    ]
