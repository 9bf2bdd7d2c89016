"""A model with a FileField on vfs_s3, for the Django round-trip test."""

from django.db import models

from vfs_s3.storage import S3Storage


class Document(models.Model):
    title = models.CharField(max_length=100)
    file = models.FileField(storage=S3Storage(auto_create_bucket=True, location="docs"), upload_to="uploads/%Y")
