"""Pick the instance of a request by its Host, as cozy-stack does."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cozy.instances.hosts import split_host
from cozy.instances.models import Instance


def instance_for_host(host: str) -> Instance | None:
    name, port = split_host(host)  # "Example.org.:8000" is "example.org:8000"
    candidates = [f"{name}{port}"]
    if port:
        candidates.append(name)  # a domain stored without its port
    for domain in candidates:
        instance = Instance.objects.select_related("owner").filter(domain=domain).first()
        if instance is not None:
            return instance
    return None


class InstanceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not hasattr(request, "instance"):  # a host router placed before (app hosts) may have found it
            request.instance = instance_for_host(request.get_host())  # type: ignore[attr-defined]
        return self.get_response(request)
