"""The Drive's export settings page: a shell, filled by static/drive/exports.js from the
``/move/exports`` API (request an export, follow its progress, download its parts)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from cozy.drive.views import error_page, request_instance, unavailable, with_csp


@with_csp
@never_cache
@ensure_csrf_cookie  # the page's script sends this cookie back as X-CSRFToken
def exports(request: HttpRequest) -> HttpResponse:
    if (page := unavailable(request)) is not None:
        return page
    instance = request_instance(request)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if instance is None or request.user.pk != instance.owner_id:
        return error_page(request, 403, "Not your cozy", "Log out, then log in as the owner of this cozy.")
    return render(request, "drive/exports.html", {"instance": instance})
