"""The ``/move/exports`` routes: request an export, read its manifest, download its parts.

The manifest and part URLs carry a signed token (services.token_for) and need
no other credential, so that another cozy or a plain curl can fetch them; the
token expires with the export, and an expired export is refused even while its
objects remain.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from cozy.exports.importer import ImportRefused
from cozy.exports.imports import (
    ImportRunning,
    NotResumable,
    precheck,
    precheck_upload,
    request_import,
    request_upload_import,
    resume,
    rollback,
)
from cozy.exports.models import Export, ImportJob
from cozy.exports.runner import exports_store
from cozy.exports.services import BadToken, ExportRunning, export_for_token, request_export, token_for
from cozy.files import api as files_api
from cozy.files.auth import InstanceAuth, request_instance
from cozy.files.body import body_upload
from cozy.files.download import stream_response
from cozy.files.errors import APIError, BadRequest, Conflict, NotFound, Unauthorized
from cozy.files.parser import StrictAPI, StrictJsonParser
from cozy.files.text import BadText, body_error_detail, check_text

api = StrictAPI(title="cozy move API", version="1", urls_namespace="move-api", openapi_url=None, docs_url=None)
for _exc, _handler in ((APIError, files_api.on_api_error), (ValidationError, files_api.on_validation_error),
                       (AuthenticationError, files_api.on_auth_error), (HttpError, files_api.on_http_error),
                       (Http404, files_api.on_http404),
                       (Exception, files_api.on_unexpected)):  # fmt: skip
    api.add_exception_handler(_exc, _handler)  # type: ignore[arg-type]
ERRORS: dict[int, Any] = files_api.ERRORS


def manifest_url(request: HttpRequest, export: Export) -> str:
    return request.build_absolute_uri(f"/move/exports/{token_for(export)}")


def document(request: HttpRequest, export: Export) -> dict[str, Any]:
    base = manifest_url(request, export)
    parts = [{"n": p["n"], "size": p["size"], "md5": p["md5"], "url": f"{base}/parts/{p['n']}"}
             for p in export.parts] if export.state == Export.State.DONE else []  # fmt: skip
    attributes = {
        "state": export.state, "error": export.error or None, "parts": parts,
        "files_total": export.files_total, "files_done": export.files_done,
        "bytes_total": export.bytes_total, "bytes_done": export.bytes_done,
        "created_at": export.created_at.isoformat(), "expires_at": export.expires_at.isoformat(),
    }  # fmt: skip
    return {"data": {"type": "io.cozy.exports", "id": export.pk, "attributes": attributes, "links": {"self": base}}}


@api.post("/move/exports", auth=InstanceAuth(), response={201: dict, **ERRORS}, summary="Request an export")
def create_export(request: HttpRequest):
    export_options(request)
    try:
        export = request_export(request.auth)  # type: ignore[attr-defined]
    except ExportRunning as err:
        raise Conflict(str(err)) from None
    return JsonResponse(document(request, export), status=201)


@api.get("/move/exports", auth=InstanceAuth(), response={200: dict, **ERRORS},
         summary="The instance's recent exports, newest first (the owner)")  # fmt: skip
def list_exports(request: HttpRequest):
    recent = Export.objects.filter(instance=request.auth).exclude(state=Export.State.EXPIRED)[:10]  # type: ignore[attr-defined]
    return JsonResponse({"data": [document(request, export)["data"] for export in recent]})


def _export(request: HttpRequest, token: str) -> Export:
    try:
        return export_for_token(request_instance(request), token)
    except BadToken as err:
        raise Unauthorized(str(err)) from None


def unlogged(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Django logs the path of every 4xx answer, and these paths hold a token that is as good as
    a password: mark such answers as logged already."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except APIError as err:
            response = files_api.on_api_error(request, err)
        if response.status_code >= 400:
            response._has_been_logged = True  # type: ignore[attr-defined]
        return response

    return wrapper


@api.get("/move/exports/{token}", response={200: dict, **ERRORS}, summary="An export's manifest")
@unlogged
def manifest(request: HttpRequest, token: str) -> HttpResponseBase:
    return JsonResponse(document(request, _export(request, token)))


@api.get("/move/exports/{token}/parts/{n}", response={200: None, 206: None, **ERRORS},
         summary="One zip part of an export (Range supported)")  # fmt: skip
@unlogged
def part(request: HttpRequest, token: str, n: str) -> HttpResponseBase:
    export = _export(request, token)
    if export.state != Export.State.DONE:
        raise Conflict(f"the export is {export.state}, not done")
    found = next((p for p in export.parts if str(p["n"]) == n), None)
    if found is None:
        raise NotFound("no such part")
    return stream_response(request, store=exports_store(export), name=export.part_name(found["n"]), size=found["size"],
                           md5=found["md5"], mime="application/zip",
                           filename=f"cozy-export-{export.instance.domain}-{n}.zip")  # fmt: skip


# -- request bodies ------------------------------------------------------------
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
FORM_BOOLEANS = {"true": True, "1": True, "on": True, "false": False, "0": False, "": False}


def _body(request: HttpRequest) -> dict[str, Any]:
    """The request's fields: a JSON object, ours (``{"manifest_url": ...}``) or cozy-stack's
    JSON:API shape (``{"data": {"attributes": {...}}}``), or an HTML form; {} for no body."""
    if request.content_type in FORM_TYPES:
        form: dict[str, Any] = {name: request.POST[name] for name in request.POST}
        try:
            check_text(form)  # the same text rule as JSON bodies
        except BadText as err:
            raise BadRequest(str(err)) from None
        if "wipe" in form:
            form["wipe"] = FORM_BOOLEANS.get(form["wipe"].lower(), form["wipe"])
        return form
    if not request.body.strip():
        return {}
    try:
        body = StrictJsonParser().parse_body(request)
    except (ValueError, RecursionError) as err:
        raise BadRequest(body_error_detail(err)) from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    if "data" not in body:
        return body
    data = body["data"]
    if not isinstance(data, dict) or not isinstance(data.get("attributes", {}), dict):
        raise BadRequest('"data" must be an object, with its fields in an "attributes" object')
    return data.get("attributes", {})


EXPORT_OPTIONS: dict[str, type | tuple[type, ...]] = {  # cozy-stack's
    "parts_size": int, "max_age": (int, float), "with_doctypes": list,
}  # fmt: skip


def export_options(request: HttpRequest) -> None:
    """cozy-stack's export options are accepted and checked, not applied: the part size and the
    lifetime are the operator's settings, and every file is exported whatever the doctypes."""
    body = _body(request)
    for name, kind in EXPORT_OPTIONS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise BadRequest(f'"{name}" must be a {"list" if kind is list else "number"}')


def import_options(request: HttpRequest) -> tuple[str, bool]:
    """The manifest URL (``manifest_url``, or cozy-stack's ``url``) and the wipe confirmation."""
    body = _body(request)
    urls = {body[k] for k in ("manifest_url", "url") if body.get(k) is not None}
    if not urls:
        raise BadRequest('give the manifest URL of the export as "manifest_url" (or "url")')
    if len(urls) > 1:
        raise BadRequest('"manifest_url" and "url" differ: give one')
    url = urls.pop()
    if not isinstance(url, str) or not url.strip():
        raise BadRequest("the manifest URL must be a non-empty string")
    wipe = body.get("wipe", False)
    if not isinstance(wipe, bool):
        raise BadRequest('"wipe" must be true or false')
    return url.strip(), wipe


# -- imports ---------------------------------------------------------------------
def import_document(job: ImportJob) -> dict[str, Any]:
    attributes = {"state": job.state, "error": job.error or None, "wipe": job.wipe, "bytes_total": job.bytes_total,
                  "bytes_done": job.bytes_done, "contents_total": len(job.contents),
                  "contents_done": job.pieces_done, "created_at": job.created_at.isoformat()}  # fmt: skip
    base = f"/move/imports/{job.pk}"
    return {"data": {"type": "io.cozy.imports", "id": str(job.pk), "attributes": attributes,
                     "links": {"self": base, "resume": f"{base}/resume", "rollback": f"{base}/rollback"}}}  # fmt: skip


def _refused(err: ImportRefused) -> APIError:
    return APIError(str(err), status=err.status, title={409: "Conflict", 413: "Payload Too Large"}.get(
        err.status, "Precondition Failed"))


ARCHIVE_TYPE = "application/zip"


def is_archive(request: HttpRequest) -> bool:
    """An uploaded zip part as the body (its options in the query string), not a manifest URL."""
    return request.content_type == ARCHIVE_TYPE


def query_wipe(request: HttpRequest) -> bool:
    raw = request.GET.get("wipe", "false").lower()
    if raw not in FORM_BOOLEANS:
        raise BadRequest('"wipe" must be true or false')
    return FORM_BOOLEANS[raw]


@api.post("/move/imports/precheck", auth=InstanceAuth(), response={204: None, **ERRORS},
          summary="Whether an export could be imported here (412 unreadable, 413 over quota)")  # fmt: skip
def import_precheck(request: HttpRequest):
    try:
        if is_archive(request):
            precheck_upload(request.auth, body_upload(request), wipe=query_wipe(request))  # type: ignore[attr-defined]
            return HttpResponse(status=204)
        url, wipe = import_options(request)
        precheck(request.auth, url, wipe=wipe)  # type: ignore[attr-defined]
    except ImportRefused as err:
        raise _refused(err) from None
    return HttpResponse(status=204)


@api.post("/move/imports", auth=InstanceAuth(), response={202: dict, **ERRORS},
          summary="Import an export into this instance (empty, or with wipe: true)")  # fmt: skip
def create_import(request: HttpRequest):
    try:
        if is_archive(request):
            job = request_upload_import(request.auth, body_upload(request),  # type: ignore[attr-defined]
                                        wipe=query_wipe(request))  # fmt: skip
        else:
            url, wipe = import_options(request)
            job = request_import(request.auth, url, wipe=wipe)  # type: ignore[attr-defined]
    except ImportRefused as err:
        raise _refused(err) from None
    except ImportRunning as err:
        raise Conflict(str(err)) from None
    return JsonResponse(import_document(job), status=202)


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(pk=job_id, instance=request.auth).first()  # type: ignore[attr-defined]
    if job is None:
        raise NotFound("no such import")
    return job


@api.get("/move/imports/{job_id}", auth=InstanceAuth(), response={200: dict, **ERRORS}, summary="An import's state")
def import_state(request: HttpRequest, job_id: int):
    return JsonResponse(import_document(_job(request, job_id)))


@api.post("/move/imports/{job_id}/resume", auth=InstanceAuth(), response={202: dict, **ERRORS},
          summary="Resume a stopped import (what it stored and verified is not written again)")  # fmt: skip
def import_resume(request: HttpRequest, job_id: int):
    try:
        return JsonResponse(import_document(resume(_job(request, job_id))), status=202)
    except NotResumable as err:
        raise Conflict(str(err)) from None


@api.post("/move/imports/{job_id}/rollback", auth=InstanceAuth(), response={200: dict, **ERRORS},
          summary="Roll back an unfinished import: what it wrote goes, the instance is as before")  # fmt: skip
def import_rollback(request: HttpRequest, job_id: int):
    try:
        return JsonResponse(import_document(rollback(_job(request, job_id))))
    except NotResumable as err:
        raise Conflict(str(err)) from None
    except OSError:
        raise APIError("the storage failed during the rollback: try again", status=503,
                       title="Service Unavailable") from None
