"""``GET /settings/disk-usage`` in cozy-stack's shape: bytes used (current contents and old
versions), the quota when there is one, and with ``include=trash`` what the trash holds."""

from __future__ import annotations

from django.db.models import Sum
from django.http import JsonResponse
from ninja import NinjaAPI

from cozy.files import index_sql
from cozy.files.auth import AuthedRequest
from cozy.files.errors import JSONAPI
from cozy.files.models import TRASH_ID, Node
from cozy.files.tree import descendants, get_node


def usage_attributes(instance, *, with_trash: bool = False) -> dict[str, object]:
    files, versions = index_sql.usage(instance.pk)
    attrs: dict[str, object] = {"is_limited": instance.quota_bytes is not None, "used": str(files + versions),
                                "files": str(files), "versions": str(versions)}
    if instance.quota_bytes is not None:
        attrs["quota"] = str(instance.quota_bytes)
    if with_trash:
        in_trash = [n.pk for n in descendants(get_node(instance, TRASH_ID)) if not n.is_dir]
        attrs["trash"] = str(Node.objects.filter(pk__in=in_trash).aggregate(s=Sum("size"))["s"] or 0)
    return attrs


def disk_usage(request: AuthedRequest, include: str = ""):
    attrs = usage_attributes(request.auth, with_trash="trash" in include.split(","))
    doc = {"data": {"type": "io.cozy.settings", "id": "io.cozy.settings.disk-usage", "attributes": attrs}}
    return JsonResponse(doc, content_type=JSONAPI)


def register(api: NinjaAPI, errors: dict) -> None:
    api.get("/settings/disk-usage", response={200: dict, **errors},
            summary="Bytes used and the quota (cozy-stack's shape)")(disk_usage)
