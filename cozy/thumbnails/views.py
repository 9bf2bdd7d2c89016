"""``GET /files/{file_id}/thumbnails/{secret}/{format}``: no login, the secret opens it.

The secret names the content, so a link made before an overwrite keeps showing the
picture it was made for, never a mix. A thumbnail not made yet answers 404 with a
placeholder picture and queues its job. Errors are JSON:API documents, like the
files API's, and never name a bucket or a key.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from cozy.files.errors import error_response
from cozy.instances.models import Instance
from cozy.thumbnails.errors import ThumbnailError
from cozy.thumbnails.formats import MIME, PDF_MIME, THUMBNAIL_FORMATS
from cozy.thumbnails.generate import Source, source_of
from cozy.thumbnails.models import REQUEUE_AFTER
from cozy.thumbnails.placeholder import placeholder_png
from cozy.thumbnails.preview_jobs import PreviewHeld, preview_or_failure
from cozy.thumbnails.previews import preview_name, previews_store, touch
from cozy.thumbnails.signing import ExpiredSecret, InvalidSecret, check_secret
from cozy.thumbnails.store import thumb_name, thumbs_store
from cozy.thumbnails.tasks import request as request_thumbnails

log = logging.getLogger("cozy.thumbnails")
MAX_AGE = 600  # the secret's life: the URL itself changes after that


def _error(status: int, title: str, detail: str) -> JsonResponse:
    return error_response(status, title, detail)


def _secured(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


def _opened(request: HttpRequest, file_id: str, secret: str) -> tuple[Instance, str, Source] | HttpResponse:
    """(instance, content_id, source) the secret opens, or the error to answer."""
    instance: Instance | None = getattr(request, "instance", None)
    if instance is None or instance.state != Instance.State.READY:
        return _error(404, "Not Found", "no such instance")
    try:
        content_id = check_secret(secret, instance.db_prefix, file_id)
    except ExpiredSecret:
        return _error(410, "Gone", "this link has expired: get the file's document again")
    except InvalidSecret:
        return _error(403, "Forbidden", "this link is not valid")
    source = source_of(instance, file_id, content_id)
    if source is None:
        return _error(404, "Not Found", "this content of the file is gone")
    return instance, content_id, source


def _not_modified(request: HttpRequest, etag: str) -> bool:
    return etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}


@require_GET
def thumbnail(request: HttpRequest, file_id: str, secret: str, fmt: str) -> HttpResponse:
    if fmt not in THUMBNAIL_FORMATS:
        return _error(404, "Not Found", f"no such format (one of {', '.join(THUMBNAIL_FORMATS)})")
    opened = _opened(request, file_id, secret)
    if isinstance(opened, HttpResponse):
        return opened
    instance, content_id, _ = opened
    etag = f'W/"{content_id}-{fmt}"'  # one key per content and format: its bytes never change
    if _not_modified(request, etag):
        return _secured(_cached(HttpResponse(status=304), etag))
    try:
        data = b"".join(thumbs_store(instance).read(thumb_name(file_id, content_id, fmt)))
    except FileNotFoundError:
        request_thumbnails(instance, file_id, content_id)
        response = HttpResponse(placeholder_png(), status=404, content_type="image/png")
        response["Cache-Control"] = "no-store"
        return _secured(response)
    except OSError as err:
        log.warning("could not read a thumbnail: %s", type(err).__name__)
        return _error(503, "Service Unavailable", "the object storage is unavailable, try again later")
    response = HttpResponse(data, content_type=MIME)
    return _secured(_cached(response, etag))


def _cached(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = f"private, max-age={MAX_AGE}"
    return response


@require_GET
def icon(request: HttpRequest, file_id: str, secret: str) -> HttpResponse:
    """cozy-stack's ``/files/{id}/icon/{secret}``: the tiny thumbnail."""
    return thumbnail(request, file_id, secret, "tiny")


@require_GET
def preview(request: HttpRequest, file_id: str, secret: str) -> HttpResponse:
    """cozy-stack's ``/files/{id}/preview/{secret}``: a PDF's page 1, fit in 1080x1920, made on first use."""
    opened = _opened(request, file_id, secret)
    if isinstance(opened, HttpResponse):
        return opened
    instance, content_id, source = opened
    if source.mime != PDF_MIME:
        return _error(404, "Not Found", "only PDFs have a preview")
    etag = f'W/"{content_id}-preview"'
    if _not_modified(request, etag):
        touch(instance, content_id)
        return _secured(_cached(HttpResponse(status=304), etag))
    try:
        data = _preview_bytes(instance, file_id, content_id)
    except PreviewHeld as held:
        return _held(held)
    except ThumbnailError as err:  # recorded: the next requests are answered from the record
        return _held(PreviewHeld(err.reason, None if err.permanent else int(REQUEUE_AFTER.total_seconds())))
    except OSError as err:
        log.warning("could not read or make a preview: %s", type(err).__name__)
        return _error(503, "Service Unavailable", "the object storage is unavailable, try again later")
    if data is None:
        return _error(404, "Not Found", "this content of the file is gone")
    return _secured(_cached(HttpResponse(data, content_type=MIME), etag))


def _preview_bytes(instance: Instance, file_id: str, content_id: str) -> bytes | None:
    try:
        data = b"".join(previews_store(instance).read(preview_name(file_id, content_id)))
    except FileNotFoundError:
        return preview_or_failure(instance, file_id, content_id)
    touch(instance, content_id)
    return data


def _held(held: PreviewHeld) -> HttpResponse:
    """A recorded failure, answered without trying again."""
    if held.retry_after is None:
        return _error(404, "Not Found", f"this PDF has no preview ({held.reason})")
    response = _error(503, "Service Unavailable", f"this PDF's preview could not be made ({held.reason}), "
                      "try again later")  # fmt: skip
    response["Retry-After"] = str(held.retry_after)
    return response
