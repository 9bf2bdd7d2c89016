"""``PUT|DELETE /settings/avatar`` (the owner) and ``GET /public/avatar`` (anyone).

The upload is read whole, at most ``COZY_AVATAR_MAX_BYTES`` counted as it
arrives (chunked bodies too), decoded and re-encoded (validate.py), and only
then stored with one PUT: a cut or refused upload keeps the previous avatar.
Every answer is ``nosniff`` with ``Content-Security-Policy: default-src 'none'``.
"""

from __future__ import annotations

import io
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from cozy.avatars.fallback import anonymous_png, anonymous_svg, initials_png, initials_svg
from cozy.avatars.models import Avatar
from cozy.avatars.validate import AvatarRefused, prepare_avatar
from cozy.files.auth import InstanceAuth, request_instance
from cozy.files.body import body_upload
from cozy.files.errors import APIError, BadRequest, TooLarge, error_response
from cozy.instances.models import Instance
from cozy.storage.stores import store_for

log = logging.getLogger("cozy.avatars")
NAME = "avatar"  # the area's one key, below <db_prefix>/
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
FALLBACKS = ("initials", "anonymous", "404")
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
READ = 256 * 1024


def _error(status: int, title: str, detail: str) -> HttpResponse:
    return _secured(error_response(status, title, detail))


def _secured(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@csrf_exempt  # a session's CSRF token is checked by InstanceAuth; a bearer token needs none
@require_http_methods(["PUT", "DELETE"])
def settings_avatar(request: HttpRequest) -> HttpResponse:
    try:
        instance = InstanceAuth()(request)
        if request.method == "DELETE":
            delete_avatar(instance)
        else:
            set_avatar(instance, _read_body(request))
    except APIError as err:
        return _error(err.status, err.title, err.detail)
    except AvatarRefused as err:
        title = "Unsupported Media Type" if err.status == 415 else "Unprocessable Content"
        return _error(err.status, title, str(err))
    except OSError as err:
        log.warning("avatar storage failed: %s", type(err).__name__)
        return _error(503, "Service Unavailable", "the object storage is unavailable; nothing was changed")
    return _secured(HttpResponse(status=204))


def _read_body(request: HttpRequest) -> bytes:
    upload = body_upload(request)
    limit = getattr(settings, "COZY_AVATAR_MAX_BYTES", DEFAULT_MAX_BYTES)
    if upload.length is not None and upload.length > limit:
        raise TooLarge(f"an avatar is at most {limit} bytes")
    buffer, total = io.BytesIO(), 0
    while upload.length is None or total < upload.length:
        try:
            data = upload.read(READ if upload.length is None else min(READ, upload.length - total))
        except OSError:
            raise BadRequest("the upload was interrupted before its end") from None
        if not data:
            break
        total += len(data)
        if total > limit:  # counted as it arrives: a chunked body cannot get past it
            raise TooLarge(f"an avatar is at most {limit} bytes")
        buffer.write(data)
    if upload.length is not None and total != upload.length:
        raise BadRequest("the body is shorter than its Content-Length")
    return buffer.getvalue()


def set_avatar(instance: Instance, body: bytes) -> Avatar:
    avatar = prepare_avatar(io.BytesIO(body))
    store_for(instance, "avatar").put(NAME, avatar.data, length=len(avatar.data), expected_md5=avatar.md5,
                                      content_type=avatar.mime)  # fmt: skip
    row, _ = Avatar.objects.update_or_create(
        instance=instance, defaults={"md5": avatar.md5, "mime": avatar.mime, "size": len(avatar.data)}
    )
    return row


def delete_avatar(instance: Instance) -> None:
    """The row first; the object once that is committed (the ordering rule)."""
    with transaction.atomic():
        Avatar.objects.filter(instance=instance).delete()
        transaction.on_commit(lambda: _delete_object(instance), robust=True)


def _delete_object(instance: Instance) -> None:
    try:
        store_for(instance, "avatar").delete(NAME)
    except OSError as err:  # fsck reports an object no row names
        log.warning("could not delete an avatar object: %s", type(err).__name__)


@require_GET
def public_avatar(request: HttpRequest) -> HttpResponse:
    try:
        instance = request_instance(request)
    except APIError as err:
        return _error(err.status, err.title, err.detail)
    fallback, fmt = request.GET.get("fallback", "initials"), request.GET.get("format", "png")
    if fallback not in FALLBACKS or fmt not in FORMATS:
        return _error(400, "Bad Request", "fallback is initials, anonymous or 404; format is png or svg")
    row = Avatar.objects.filter(instance=instance).first()
    if row is not None:
        if row.etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
            return _secured(_cached(HttpResponse(status=304), row.etag))
        try:
            data = b"".join(store_for(instance, "avatar").read(NAME))
            return _secured(_cached(HttpResponse(data, content_type=row.mime), row.etag))
        except FileNotFoundError:
            log.warning("the avatar of an instance is missing from the store")
        except OSError as err:
            log.warning("could not read an avatar: %s", type(err).__name__)
            return _error(503, "Service Unavailable", "the object storage is unavailable, try again later")
    if fallback == "404":
        return _error(404, "Not Found", "this instance has no avatar")
    return _secured(_generated(instance, fallback, fmt))


def _generated(instance: Instance, fallback: str, fmt: str) -> HttpResponse:
    if fallback == "anonymous":
        data = anonymous_svg() if fmt == "svg" else anonymous_png()
    else:
        owner = instance.owner
        name = owner.get_full_name() or owner.get_username()
        data = initials_svg(name) if fmt == "svg" else initials_png(name)
    response = HttpResponse(data, content_type=FORMATS[fmt])
    response["Cache-Control"] = "no-cache"  # it changes as soon as an avatar is set
    return response


def _cached(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"  # revalidate: a new avatar must show at once (304s are free)
    return response
