"""Admin: a staff-only "delete instance" action, and the deletion jobs with their progress."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from cozy.deletion.index import index_totals
from cozy.deletion.models import DeletionJob
from cozy.deletion.progress import describe
from cozy.deletion.services import DeletionRefused, request_deletion
from cozy.instances.models import Instance


@admin.action(description="Delete the selected instances and all their data", permissions=["delete"])
def destroy_instances(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Instance]
) -> TemplateResponse | None:
    """Ask first, then queue one deletion job per instance (staff with the delete permission only)."""
    if request.POST.get("confirm") != "yes":
        return _confirm_page(modeladmin, request, queryset)
    who = f"admin: {request.user.get_username()}"
    for domain in queryset.values_list("domain", flat=True):
        try:
            job, _ = request_deletion(domain, requested_by=who)
        except DeletionRefused as err:
            modeladmin.message_user(request, str(err), messages.WARNING)
            continue
        modeladmin.message_user(request, f"deletion of {job.domain} queued (job {job.pk})", messages.SUCCESS)
    return None


def _confirm_page(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Instance]) -> TemplateResponse:
    """What will go, with its size, and a second submit that carries ``confirm=yes``."""
    rows = []
    for inst in queryset.select_related("owner"):
        objects, size = index_totals(inst)  # what every area's index knows of
        rows.append({"domain": inst.domain, "owner": inst.owner, "objects": objects, "bytes": size})
    context = {
        **modeladmin.admin_site.each_context(request),
        "rows": rows,
        "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/deletion/confirm_destroy.html", context)


class InstanceAdmin(admin.ModelAdmin):
    list_display = ("domain", "state", "owner", "org_id", "created_at")
    list_filter = ("state",)
    search_fields = ("domain",)
    readonly_fields = ("db_prefix", "state", "created_at")
    actions = [destroy_instances]

    def has_delete_permission(self, request: HttpRequest, obj: Instance | None = None) -> bool:
        # Deleting the row alone would strand its bytes on S3: only the action may delete instances...
        return super().has_delete_permission(request, obj) and obj is None

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # ...and not the bulk row delete either
        return actions


def _add_to_existing(model_admin: admin.ModelAdmin) -> None:
    """The instances app may register its own admin one day: add our action to it."""
    model_admin.actions = [*(model_admin.actions or []), destroy_instances]


if admin.site.is_registered(Instance):
    _add_to_existing(admin.site.get_model_admin(Instance))
else:
    admin.site.register(Instance, InstanceAdmin)


@admin.register(DeletionJob)
class DeletionJobAdmin(admin.ModelAdmin):
    list_display = ("domain", "state", "phase", "progress", "attempts", "created_at", "finished_at")
    list_filter = ("state",)
    search_fields = ("domain",)

    @admin.display(description="progress")
    def progress(self, job: DeletionJob) -> str:
        return describe(job)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DeletionJob | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: DeletionJob | None = None) -> bool:
        return False
