"""Web apps on the instance's subdomains, ``<slug>.<instance domain>`` (as cozy-stack), or flat.

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
    """(instance, slug) of an app host, or None: nested ``drive.alice.example.org``, or flat
    ``alice-drive.example.org`` (the instance's first label, a dash, the slug)."""
    name, port = split_host(host)
    first, dot, rest = name.partition(".")
    if not dot or not rest:
        return None
    if SLUG.fullmatch(first) and "_" not in first and (instance := instance_for_host(rest + port)):
        return instance, first
    label, dash, slug = first.rpartition("-")
    if dash and label and SLUG.fullmatch(slug) and "_" not in slug:
        if instance := instance_for_host(f"{label}.{rest}{port}"):
            return instance, slug
    return None


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
