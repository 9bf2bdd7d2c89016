"""Web apps on the instance's subdomains, ``<slug>.<instance domain>`` (as cozy-stack), or flat.

A middleware placed before the instance middleware resolves the Host in one
query: the instances that the host or its app forms name, each with the
release its app of that slug is installed at. When the host names an
instance, that is an instance request (the instance middleware keeps it);
otherwise, when it drops to one once its first label is taken off, the
request is for that instance's app, and goes to the apps' own URL map. The
release id is read on every request, so an update or an uninstall is seen
at once by every process; only the immutable release row is cached. The
instance's owner is not joined (an app file does not need it): a view that
reads ``request.instance.owner`` loads it then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

from cozy.apps.models import Installation, Kind
from cozy.apps.releases import SLUG
from cozy.instances import lookup_cache
from cozy.instances.hosts import split_host
from cozy.instances.models import Instance

SERVE_URLCONF = "cozy.apps.serve_urls"


@dataclass(frozen=True)
class Resolved:
    instance: Instance | None  # the instance of the request, if any
    slug: str = ""  # the app's slug, for an app host
    release_id: int | None = None  # the release its app is installed at (None: not installed)


def _spellings(name: str, port: str) -> list[str]:
    """A domain as stored, with its port first, then without (as the instance middleware)."""
    return [f"{name}{port}", name] if port else [name]


def app_forms(name: str) -> list[tuple[str, str]]:
    """(slug, instance name) of an app host name, by priority: nested ``drive.alice.example.org``,
    then flat ``alice-drive.example.org`` (the instance's first label, a dash, the slug)."""
    first, dot, rest = name.partition(".")
    if not dot or not rest:
        return []
    forms = []
    if SLUG.fullmatch(first) and "_" not in first:
        forms.append((first, rest))
    label, dash, slug = first.rpartition("-")
    if dash and label and SLUG.fullmatch(slug) and "_" not in slug:
        forms.append((slug, f"{label}.{rest}"))
    return forms


@lru_cache(maxsize=64)
def _sql(vendor: str, domains: int, slugs: int) -> str:
    """The one query of a Host: the instances it may name, each with the release of its app
    of each candidate slug. Raw SQL, built once per shape: compiling the same query with
    the ORM cost more than running it (see docs/benchmarks.md)."""
    q = connection.ops.quote_name
    apps, instances = q(Installation._meta.db_table), q(Instance._meta.db_table)
    where = f"a.{q('instance_id')} = i.{q('id')} AND a.{q('kind')} = %s AND a.{q('slug')} = %s AND a.{q('state')} = %s"
    release = f"(SELECT a.{q('release_id')} FROM {apps} a WHERE {where} LIMIT 1)"  # noqa: S608 - as below
    columns = "".join(f", {release} AS release_{n}" for n in range(slugs))
    marks = ", ".join(["%s"] * domains)
    return f"SELECT i.*{columns} FROM {instances} i WHERE i.{q('domain')} IN ({marks})"  # noqa: S608 - names from models, values as parameters


def _rows(domains: list[str], slugs: list[str]) -> dict[str, Instance]:
    params: list[str] = []
    for slug in slugs:
        params += [Kind.WEB.value, slug, Installation.State.READY.value]
    raw = Instance.objects.raw(_sql(connection.vendor, len(domains), len(slugs)), [*params, *domains])
    return {row.domain: row for row in raw}


def resolve(host: str) -> Resolved:
    """The instance (and app) a Host names, in one query; a Host that names an instance
    itself is remembered for a few seconds (cozy.instances.lookup_cache), an app's is not."""
    cached = lookup_cache.instances.get(host)
    if cached is not None:
        return Resolved(_instance_of_row(*cached))
    name, port = split_host(host)
    own = _spellings(name, port)
    forms = [(slug, domain) for slug, base in app_forms(name) for domain in _spellings(base, port)]
    slugs = sorted({slug for slug, _ in forms})
    found = _rows(own + [d for _, d in forms], slugs)
    for domain in own:
        if domain in found:
            _remember(host, found[domain])
            return Resolved(found[domain])
    for slug, domain in forms:
        if domain in found:
            return Resolved(found[domain], slug, getattr(found[domain], f"release_{slugs.index(slug)}"))
    return Resolved(None)


def _remember(host: str, instance: Instance) -> None:
    lookup_cache.instances.put(host, (instance._state.db or "default",
                                      tuple(getattr(instance, f.attname) for f in Instance._meta.concrete_fields)))


def _instance_of_row(db: str, values: tuple[Any, ...]) -> Instance:
    """A fresh Instance of each request: none is shared between requests."""
    return Instance.from_db(db, [f.attname for f in Instance._meta.concrete_fields], values)


def app_for_host(host: str) -> tuple[Instance, str] | None:
    """(instance, slug) of an app host, or None."""
    resolved = resolve(host)
    return (resolved.instance, resolved.slug) if resolved.instance and resolved.slug else None


class AppHostMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        resolved = resolve(request.get_host())
        request.instance = resolved.instance  # type: ignore[attr-defined]  # the instance middleware keeps it
        if resolved.instance is not None and resolved.slug:
            request.app_slug, request.app_release_id = resolved.slug, resolved.release_id  # type: ignore[attr-defined]
            request.urlconf = SERVE_URLCONF
        return self.get_response(request)
