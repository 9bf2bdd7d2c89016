"""The Drive's export settings page: a shell, filled by static/drive/exports.js from the
``/move/exports`` API (request an export, follow its progress, download its parts)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from cozy.drive.views import owner_instance, with_csp


@with_csp
@never_cache
@ensure_csrf_cookie  # the page's script sends this cookie back as X-CSRFToken
def exports(request: HttpRequest) -> HttpResponse:
    instance = owner_instance(request, "Log out, then log in as the owner of this cozy.")
    if isinstance(instance, HttpResponse):
        return instance
    return render(request, "drive/exports.html", {"instance": instance})
