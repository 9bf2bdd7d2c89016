"""Web apps on the instance's nested subdomain, ``<slug>.<instance domain>`` (as cozy-stack).

A middleware placed after the instance middleware: when the Host names no
instance but drops to one once its first label is taken off, the request is
for that instance's app of that slug, and goes to the apps' own URL map.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cozy.apps.releases import SLUG
from cozy.instances.hosts import split_host
from cozy.instances.middleware import instance_for_host

SERVE_URLCONF = "cozy.apps.serve_urls"


def app_for_host(host: str):
    """(instance, slug) of an app host, or None."""
    name, port = split_host(host)
    slug, dot, rest = name.partition(".")
    if not dot or not rest or not SLUG.fullmatch(slug) or "_" in slug:
        return None
    instance = instance_for_host(rest + port)
    return (instance, slug) if instance is not None else None


class AppHostMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(request, "instance", None) is None:
            found = app_for_host(request.get_host())
            if found is not None:
                request.instance, request.app_slug = found  # type: ignore[attr-defined]
                request.urlconf = SERVE_URLCONF
        return self.get_response(request)
