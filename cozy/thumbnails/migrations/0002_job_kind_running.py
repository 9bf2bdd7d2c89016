# A job row per content and kind (thumbnails or PDF preview), and the running state.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("instances", "0001_initial"),
        ("thumbnails", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="thumbnailjob", name="thumb_job_per_content"),
        migrations.AddField(
            model_name="thumbnailjob",
            name="kind",
            field=models.CharField(
                choices=[("thumbs", "Thumbs"), ("preview", "Preview")], default="thumbs", max_length=8
            ),
        ),
        migrations.AlterField(
            model_name="thumbnailjob",
            name="state",
            field=models.CharField(
                choices=[("queued", "Queued"), ("running", "Running"), ("failed", "Failed")],
                default="queued",
                max_length=8,
            ),
        ),
        migrations.AddConstraint(
            model_name="thumbnailjob",
            constraint=models.UniqueConstraint(
                fields=("instance", "content_id", "kind"), name="thumb_job_per_content_kind"
            ),
        ),
    ]
