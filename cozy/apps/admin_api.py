"""Admin-only JSON routes for dynamic assets: ``/admin-api/assets/…`` for a staff session.

The same operations as ``manage.py assets``; an add is synchronous (it stores
the file, checks its sum, then answers 201).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query
from ninja.utils import check_csrf

from cozy.apps import assets
from cozy.apps.api import api
from cozy.apps.models import Asset
from cozy.files.auth import SAFE_METHODS
from cozy.files.errors import Forbidden, Unauthorized, error_response


class StaffAuth:
    def __call__(self, request: HttpRequest) -> object:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            raise Unauthorized("log in as an administrator")
        if not user.is_staff:
            raise Forbidden("administrators only")
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise Forbidden("CSRF check failed: send the X-CSRFToken header")
        return user


def asset_json(row: Asset) -> dict:
    return {"context": row.context, "name": row.name, "sha256": row.sha256, "mime": row.mime, "size": row.size,
            "br_size": row.br_size, "updated_at": row.updated_at.isoformat()}  # fmt: skip


@api.get("/admin-api/assets/", auth=StaffAuth(), operation_id="assets_list", summary="Dynamic assets")
def list_assets(request: HttpRequest, context: str | None = None):
    rows = Asset.objects.all() if context is None else Asset.objects.filter(context=context)
    return JsonResponse({"data": [asset_json(r) for r in rows.order_by("context", "name")]})


@api.post("/admin-api/assets/{context}/{path:name}", auth=StaffAuth(), operation_id="assets_add",
          summary="Add or replace an asset (the source needs #sha256=)")
def add_asset(request: HttpRequest, context: str, name: str, source: str = Query(..., alias="Source")):
    try:
        row = assets.add(context, name, source)
    except assets.AssetError as err:
        return error_response(400, "Bad Request", str(err))
    return JsonResponse({"data": asset_json(row)}, status=201)


@api.delete("/admin-api/assets/{context}/{path:name}", auth=StaffAuth(), operation_id="assets_remove",
            summary="Remove an asset")
def remove_asset(request: HttpRequest, context: str, name: str):
    try:
        assets.remove(context, name)
    except assets.AssetError as err:
        return error_response(404, "Not Found", str(err))
    return HttpResponse(status=204)
