"""An instance's apps: install, update, uninstall. One row per (instance, kind, slug).

An installation points at one ready release; an update stores (or finds) the
new release first, then switches the row in one UPDATE, so a request sees the
old files or the new ones, never a mix. A release that loses its last
installation starts its GC clock (``unused_since``).

``install`` and ``update`` are the operator's (manage.py): their sources reach
anything. What an owner asks for over the API runs with ``owners_reach()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from cozy.apps.area import mark_unused
from cozy.apps.models import Installation, Release
from cozy.apps.reach import TRUSTED, HostNotAllowed, Reach
from cozy.apps.reach import owners_reach as _owners_reach
from cozy.apps.registry import concrete, registry_url
from cozy.apps.releases import InstallError, Progress, install_release, stale_install
from cozy.apps.sources import BadSource, parse_source
from cozy.apps.tarball import BadTarball
from cozy.instances.models import Instance
from s3util.errors import sanitize_error

REFUSED = (InstallError, BadSource, BadTarball, HostNotAllowed)


class NotInstalled(LookupError):
    pass


class AlreadyInstalled(ValueError):
    pass


@dataclass(frozen=True)
class Outcome:
    installation: Installation
    release: Release | None


def owners_reach() -> Reach:
    """Where owners' sources may connect: public addresses, the allow setting, the operator's registry."""
    return _owners_reach(registry_url())


def get_installation(instance: Instance, kind: str, slug: str) -> Installation:
    found = Installation.objects.select_related("release").filter(instance=instance, kind=kind, slug=slug).first()
    if found is None:
        raise NotInstalled(f"{slug!r} is not installed")
    return found


def begin_install(instance: Instance, kind: str, slug: str, source_text: str) -> Installation:
    """The installation row, ``installing`` (an errored one, or one whose install died, is
    retried); the source is checked now."""
    parse_source(source_text)
    existing = Installation.objects.filter(instance=instance, kind=kind, slug=slug).first()
    if existing is not None:
        dead = (existing.state == Installation.State.INSTALLING and existing.release_id is None
                and existing.updated_at < timezone.now() - stale_install())  # its task died
        if existing.state != Installation.State.ERRORED and not dead:
            raise AlreadyInstalled(f"{slug!r} is already installed (or being installed)")
        Installation.objects.filter(pk=existing.pk).update(
            source=source_text.strip(), state=Installation.State.INSTALLING, error="")
        existing.refresh_from_db()
        return existing
    try:
        with transaction.atomic():
            return Installation.objects.create(instance=instance, kind=kind, slug=slug, source=source_text.strip())
    except IntegrityError:
        raise AlreadyInstalled(f"{slug!r} is already installed (or being installed)") from None


def finish_install(installation: Installation, source_text: str | None = None,
                   progress: Progress | None = None, *, reach: Reach) -> Release:
    """Store or find the release, then point the installation at it (install or update), its
    source connecting where ``reach`` allows. A refused or failed install marks a new
    installation ``errored``; an update leaves it as it was."""
    text = source_text or installation.source
    updating = installation.release_id is not None
    try:
        source = concrete(parse_source(text), installation.kind, reach)  # a registry source names its tarball now
        release = install_release(installation.kind, installation.slug, source, progress, reach=reach)
        switch(installation, release, text)
    except BaseException as err:
        if not updating:
            message = str(err) if isinstance(err, REFUSED) else sanitize_error(err)
            Installation.objects.filter(pk=installation.pk).update(
                state=Installation.State.ERRORED, error=message[:500], updated_at=timezone.now())
        raise
    return release


def switch(installation: Installation, release: Release, source_text: str) -> None:
    """Point the installation at a ready release, in one transaction. The release row is
    written first (its GC clock stopped), so a GC that would take it sees it in use."""
    old = installation.release_id
    with transaction.atomic():
        if not Release.objects.filter(pk=release.pk, state=Release.State.READY).update(unused_since=None):
            raise InstallError("the release was removed meanwhile; try again")
        Installation.objects.filter(pk=installation.pk).update(
            release=release, source=source_text.strip(), state=Installation.State.READY, error="",
            updated_at=timezone.now())  # fmt: skip
    if old is not None and old != release.pk:
        mark_unused([old])
    installation.refresh_from_db()


def install(instance: Instance, kind: str, slug: str, source_text: str, progress: Progress | None = None,
            reach: Reach = TRUSTED) -> Outcome:
    installation = begin_install(instance, kind, slug, source_text)
    release = finish_install(installation, source_text, progress, reach=reach)
    return Outcome(installation, release)


def update(instance: Instance, kind: str, slug: str, source_text: str | None = None,
           progress: Progress | None = None, reach: Reach = TRUSTED) -> Outcome:
    installation = get_installation(instance, kind, slug)
    if source_text:
        parse_source(source_text)
    release = finish_install(installation, source_text, progress, reach=reach)
    return Outcome(installation, release)


def uninstall(instance: Instance, kind: str, slug: str) -> None:
    installation = get_installation(instance, kind, slug)
    with transaction.atomic():
        Installation.objects.filter(pk=installation.pk).delete()
    if installation.release_id is not None:
        mark_unused([installation.release_id])
