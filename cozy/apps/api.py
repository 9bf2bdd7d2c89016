"""cozy-stack's ``/apps/`` and ``/konnectors/`` routes for the instance's owner (JSON:API).

``POST /apps/{slug}?Source=…`` and ``PUT`` answer 202 at once; a Celery task
does the install (its state shows in ``GET /apps/{slug}``; a POST that accepts
``text/event-stream`` gets the state as events until the install is done). Auth as the
``/files`` API: a bearer token of the instance or its owner's session.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import OperationalError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from ninja import Query
from ninja.errors import AuthenticationError, HttpError, ValidationError

from cozy.apps import installs
from cozy.apps.icons import icon_response
from cozy.apps.models import Installation, Kind
from cozy.apps.reading import tarball
from cozy.apps.sources import BadSource, check_host
from cozy.apps.tasks import run_install
from cozy.files import api as files_api
from cozy.files.auth import InstanceAuth
from cozy.files.errors import JSONAPI, APIError, error_response
from cozy.files.parser import StrictAPI
from cozy.instances.models import Instance

log = logging.getLogger(__name__)
DOCTYPES = {Kind.WEB: "io.cozy.apps", Kind.KONNECTOR: "io.cozy.konnectors"}
PREFIXES = {Kind.WEB: "apps", Kind.KONNECTOR: "konnectors"}
EVENTS_FOR, EVENTS_POLL = 600.0, 0.3  # seconds: how long an event stream follows an install, how often

api = StrictAPI(title="cozy apps API", version="1", urls_namespace="apps-api", openapi_url="api/apps/openapi.json",
               docs_url=None, auth=InstanceAuth())


@api.exception_handler(APIError)
def on_api_error(request: HttpRequest, exc: APIError) -> HttpResponse:
    return error_response(exc.status, exc.title, exc.detail)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(401, "Unauthorized", "log in or send a bearer token")


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(400, "Bad Request", "invalid request parameters")


# ninja's own errors (a body that is not JSON...), as the files API sends them
api.add_exception_handler(HttpError, files_api.on_http_error)  # type: ignore[arg-type]
api.add_exception_handler(Http404, files_api.on_http404)  # type: ignore[arg-type]


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, installs.REFUSED):
        return error_response(400, "Bad Request", str(exc))
    if isinstance(exc, installs.NotInstalled):
        return error_response(404, "Not Found", str(exc))
    if isinstance(exc, installs.AlreadyInstalled):
        return error_response(409, "Conflict", str(exc))
    if isinstance(exc, OperationalError):
        return error_response(503, "Service Unavailable", "the server is busy, try again")
    if isinstance(exc, OSError):
        log.warning("storage error on %s: %s", request.method, type(exc).__name__)
        return error_response(503, "Service Unavailable", "the object storage is unavailable, try again later")
    log.error("unexpected error on %s %s: %s", request.method, request.path, type(exc).__name__)
    return error_response(500, "Internal Server Error", "an unexpected error happened")


def resource(row: Installation) -> dict:
    release = row.release
    manifest = release.manifest if release else {}
    prefix = PREFIXES[Kind(row.kind)]
    attributes = {
        "slug": row.slug, "state": row.state, "source": row.source, "error": row.error or None,
        "version": release.version if release else None, "name": manifest.get("name", row.slug),
        "permissions": manifest.get("permissions", {}), "created_at": row.installed_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }  # fmt: skip
    if row.kind == Kind.WEB:
        attributes["routes"] = manifest.get("routes", {})
    doctype = DOCTYPES[Kind(row.kind)]
    return {"type": doctype, "id": f"{doctype}/{row.slug}", "attributes": attributes,
            "links": {"self": f"/{prefix}/{row.slug}"}}  # fmt: skip


def document(row: Installation, status: int = 200) -> JsonResponse:
    return JsonResponse({"data": resource(row)}, status=status, content_type=JSONAPI)


def owner(request: HttpRequest) -> Instance:
    return request.auth  # type: ignore[attr-defined]  # set by django-ninja from InstanceAuth


def _get(request: HttpRequest, kind: str, slug: str) -> Installation:
    return installs.get_installation(owner(request), kind, slug)


def _api_source(text: str) -> str:
    """A source an instance's owner may give. ``file://`` would let any tenant read the server's
    files (and learn which exist); it is for ``manage.py apps install``, or for the API when
    ``COZY_APPS_API_FILE_SOURCES`` says so (tests, a one-user cozy). A network source's host
    must be one owners may reach (checked again when the task connects)."""
    source = installs.parse_source(text)
    if source.scheme == "file" and not getattr(settings, "COZY_APPS_API_FILE_SOURCES", False):
        raise BadSource("file:// sources are installed by the operator (manage.py apps install)")
    check_host(source, installs.owners_reach())
    return text


def _queue(row: Installation, source: str | None) -> None:
    transaction.on_commit(lambda: run_install.delay(row.pk, source))


def _events(row: Installation) -> StreamingHttpResponse:
    """cozy-stack's ``Accept: text/event-stream``: the installation's document at each change
    of state, until it is ready or errored."""

    def stream() -> Iterator[bytes]:
        last, deadline = "", time.monotonic() + EVENTS_FOR
        while time.monotonic() < deadline:
            current = Installation.objects.select_related("release").filter(pk=row.pk).first()
            if current is None:
                break
            if current.state != last:
                last = current.state
                name = "error" if last == Installation.State.ERRORED else "state"
                yield f"event: {name}\ndata: {json.dumps(resource(current))}\n\n".encode()
            if last in (Installation.State.READY, Installation.State.ERRORED):
                return
            time.sleep(EVENTS_POLL)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    return response


def _routes(kind: str) -> None:
    prefix = PREFIXES[Kind(kind)]

    @api.get(f"/{prefix}/", url_name=f"{prefix}-list", operation_id=f"{prefix}_list", summary=f"List {prefix}")
    def listing(request: HttpRequest):
        rows = Installation.objects.filter(instance=owner(request), kind=kind).select_related("release")
        data = [resource(r) for r in rows.order_by("slug")]
        return JsonResponse({"data": data, "meta": {"count": len(data)}}, content_type=JSONAPI)

    @api.get(f"/{prefix}/{{slug}}", operation_id=f"{prefix}_show", summary="One installation")
    def show(request: HttpRequest, slug: str):
        return document(_get(request, kind, slug))

    @api.post(f"/{prefix}/{{slug}}", operation_id=f"{prefix}_install", summary="Install (202, installing)")
    def install(request: HttpRequest, slug: str, source: str = Query(..., alias="Source")):
        row = installs.begin_install(owner(request), kind, slug, _api_source(source))
        _queue(row, source)
        if "text/event-stream" in request.headers.get("Accept", ""):
            return _events(row)
        return document(row, 202)

    @api.put(f"/{prefix}/{{slug}}", operation_id=f"{prefix}_update", summary="Update (202)")
    def update(request: HttpRequest, slug: str, source: str | None = Query(None, alias="Source")):
        row = _get(request, kind, slug)
        if source:
            _api_source(source)
        _queue(row, source)
        return document(row, 202)

    @api.delete(f"/{prefix}/{{slug}}", operation_id=f"{prefix}_uninstall", summary="Uninstall")
    def uninstall(request: HttpRequest, slug: str):
        row = _get(request, kind, slug)
        installs.uninstall(owner(request), kind, slug)
        row.state = "uninstalled"
        return document(row)

    @api.get(f"/{prefix}/{{slug}}/icon", operation_id=f"{prefix}_icon", summary="The icon its manifest names")
    def icon(request: HttpRequest, slug: str):
        return icon_response(request, _get(request, kind, slug).release)

    @api.get(f"/{prefix}/{{slug}}/download", operation_id=f"{prefix}_download", summary="The release, tar.gz")
    def download(request: HttpRequest, slug: str):
        row = _get(request, kind, slug)
        if row.release is None:
            return error_response(404, "Not Found", f"{slug!r} has no installed release yet")
        response = StreamingHttpResponse(tarball(row.release), content_type="application/gzip")
        response["Content-Disposition"] = f'attachment; filename="{slug}-{row.release.version}.tar.gz"'
        return response


for _kind in (Kind.WEB, Kind.KONNECTOR):
    _routes(_kind)
