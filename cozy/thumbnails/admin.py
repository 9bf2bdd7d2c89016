from django.contrib import admin

from cozy.thumbnails.models import ThumbnailJob


@admin.register(ThumbnailJob)
class ThumbnailJobAdmin(admin.ModelAdmin):
    """Contents whose thumbnails or preview are queued, running or failed, and why (read-only)."""

    list_display = ("instance", "file_id", "content_id", "kind", "state", "reason", "permanent", "attempts",
                    "updated_at")  # fmt: skip
    list_filter = ("kind", "state", "reason", "permanent")
    search_fields = ("instance__domain", "file_id", "content_id")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
