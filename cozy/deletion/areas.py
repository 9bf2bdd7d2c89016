"""Storage areas: every (bucket, prefix) where an instance may have bytes.

The deletion job empties every area registered here. An app that stores
per-instance bytes somewhere new registers a provider in its
``AppConfig.ready()``::

    from cozy.deletion.areas import Area, register

    register("notes", lambda target: [Area("notes", notes_bucket(target.bucket_prefix), target.key_prefix)])

Every prefix must lie under the instance's ``<db_prefix>/``: :func:`areas_for`
refuses any other, so no provider can point the job at a neighbour's keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from s3util.naming import system_bucket
from vfs_s3.layout import instance_prefix


@dataclass(frozen=True)
class Target:
    """What a deletion job knows of its instance, without the instance row."""

    db_prefix: str
    org_bucket: str
    bucket_prefix: str

    @property
    def key_prefix(self) -> str:
        return instance_prefix(self.db_prefix)


@dataclass(frozen=True)
class Area:
    name: str
    bucket: str
    prefix: str


Provider = Callable[[Target], Iterable[Area]]
_providers: dict[str, Provider] = {}


class AreaOutsideInstance(ValueError):
    """A provider named a prefix outside the instance's own."""


def register(name: str, provider: Provider) -> None:
    """Add (or replace, by name) a provider of areas; idempotent."""
    _providers[name] = provider


def registered() -> list[str]:
    return list(_providers)


def areas_for(target: Target) -> list[Area]:
    """Every area of the instance, checked and without duplicates, in registration order."""
    own = target.key_prefix
    seen: set[tuple[str, str]] = set()
    areas: list[Area] = []
    for provider in _providers.values():
        for area in provider(target):
            if not area.prefix.startswith(own):
                raise AreaOutsideInstance(f"storage area {area.name!r} lies outside the instance's prefix")
            if (area.bucket, area.prefix) not in seen:
                seen.add((area.bucket, area.prefix))
                areas.append(area)
    return areas


def _org_bucket(target: Target) -> list[Area]:
    """Files, versions, thumbnails and the avatar: all under ``<db_prefix>/`` in the org bucket."""
    return [Area("org", target.org_bucket, target.key_prefix)]


def _system(kind: str) -> Provider:
    def provider(target: Target) -> list[Area]:
        return [Area(kind, system_bucket(target.bucket_prefix, kind), target.key_prefix)]

    return provider


register("org", _org_bucket)
register("previews", _system("previews"))
register("exports", _system("exports"))
