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

from cozy.instances.models import Instance
from cozy.thumbnails.formats import THUMBNAIL_FORMATS
from cozy.thumbnails.generate import source_of
from cozy.thumbnails.placeholder import placeholder_png
from cozy.thumbnails.render import MIME
from cozy.thumbnails.signing import ExpiredSecret, InvalidSecret, check_secret
from cozy.thumbnails.store import thumb_name, thumbs_store
from cozy.thumbnails.tasks import request as request_thumbnails

log = logging.getLogger("cozy.thumbnails")
MAX_AGE = 600  # the secret's life: the URL itself changes after that


def _error(status: int, title: str, detail: str) -> JsonResponse:
    body = {"errors": [{"status": str(status), "title": title, "detail": detail}]}
    return JsonResponse(body, status=status, content_type="application/vnd.api+json")


def _secured(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@require_GET
def thumbnail(request: HttpRequest, file_id: str, secret: str, fmt: str) -> HttpResponse:
    instance: Instance | None = getattr(request, "instance", None)
    if instance is None or instance.state != Instance.State.READY:
        return _error(404, "Not Found", "no such instance")
    if fmt not in THUMBNAIL_FORMATS:
        return _error(404, "Not Found", f"no such format (one of {', '.join(THUMBNAIL_FORMATS)})")
    try:
        content_id = check_secret(secret, instance.db_prefix, file_id)
    except ExpiredSecret:
        return _error(410, "Gone", "this thumbnail link has expired: get the file's document again")
    except InvalidSecret:
        return _error(403, "Forbidden", "this thumbnail link is not valid")
    etag = f'W/"{content_id}-{fmt}"'  # one key per content and format: its bytes never change
    if source_of(instance, file_id, content_id) is None:
        return _error(404, "Not Found", "this content of the file is gone")
    if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
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
