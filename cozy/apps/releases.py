"""Install a release: reuse a stored copy of the tarball, or store it now.

The ordering rule of the project, for releases: every file goes to fresh keys
(``<slug>/<uid>/<path>``) while the release row says ``installing``, which
nothing serves; once the whole tarball's sha256 matched, one transaction flips
the row to ``ready`` with its file rows. Any failure deletes what was stored.
Two installs of one tarball make one copy: with the sum known up front, the
second waits for the first's claim; otherwise the one that commits second
finds the ready copy (a unique constraint), drops its own and reuses it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cozy.apps.area import AREA_OF_KIND
from cozy.apps.copier import StoredFile, Uploads
from cozy.apps.models import Kind, Release, ReleaseFile
from cozy.apps.reach import Reach
from cozy.apps.sources import Source, open_source
from cozy.apps.tarball import BadTarball, HashingReader, Limits, entries
from cozy.storage.stores import system_store
from vfs_s3.storage import S3Storage

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None], None]  # (bytes read from the source, its length if known)
MANIFESTS = {Kind.WEB: "manifest.webapp", Kind.KONNECTOR: "manifest.konnector"}
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")
MAX_MANIFEST = 1024 * 1024


class InstallError(ValueError):
    """The release cannot be installed (the message is safe to show)."""


def store_of(kind: str) -> S3Storage:
    return system_store(AREA_OF_KIND[Kind(kind)])


def limits() -> Limits:
    return Limits(**getattr(settings, "COZY_APPS_LIMITS", {}))


def ready_release(kind: str, slug: str, sha256: str) -> Release | None:
    return Release.objects.filter(kind=kind, slug=slug, sha256=sha256, state=Release.State.READY).first()


def install_release(kind: str, slug: str, source: Source, progress: Progress | None = None, *,
                    reach: Reach) -> Release:
    """A ready release of the source's tarball, stored once whoever asks; the source connects
    where ``reach`` allows."""
    if not SLUG.fullmatch(slug):
        raise InstallError("a slug is 1-63 lower-case letters, digits, '-' or '_'")
    deadline = time.monotonic() + float(getattr(settings, "COZY_APPS_CLAIM_WAIT", 600))
    while True:
        if source.sha256 and (found := ready_release(kind, slug, source.sha256)):
            return found
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction survives a lost claim
                release = Release.objects.create(kind=kind, slug=slug, sha256=source.sha256)
        except IntegrityError:  # another install of this very tarball is under way: wait for it
            expire_stale_claims(kind, slug, source.sha256)
            if time.monotonic() > deadline:
                raise InstallError("another install of this release is taking too long") from None
            time.sleep(0.2)
            continue
        return _store_and_commit(release, source, progress, reach)


def stale_install() -> timedelta:
    """How long an install may stay ``installing`` before it counts as dead (a crash)."""
    return timedelta(seconds=float(getattr(settings, "COZY_APPS_STALE_INSTALL", 3600)))


def expire_stale_claims(kind: str, slug: str, sha256: str) -> None:
    """A claim left by a dead install is handed to the GC, so that it blocks no new install."""
    Release.objects.filter(kind=kind, slug=slug, sha256=sha256, state=Release.State.INSTALLING,
                           created_at__lt=timezone.now() - stale_install()).update(state=Release.State.DELETING)


def _store_and_commit(release: Release, source: Source, progress: Progress | None, reach: Reach) -> Release:
    stored: list[StoredFile] = []
    try:
        manifest, sha256 = _copy_tarball(release, source, stored, progress, reach)
        if source.sha256 and sha256 != source.sha256:
            raise InstallError("the tarball's sha256 does not match the source's")
        return _commit(release, manifest, sha256, stored)
    except BaseException:
        discard(release, [f.path for f in stored])
        raise


def _copy_tarball(release: Release, source: Source, stored: list[StoredFile],
                  progress: Progress | None, reach: Reach) -> tuple[dict, str]:
    store = store_of(release.kind)
    manifest_bytes: bytes | None = None
    manifest_name = MANIFESTS[Kind(release.kind)]
    with open_source(source, reach) as (raw, length), Uploads(store, stored) as uploads:
        reader = HashingReader(raw, limits().max_source)
        for entry in entries(reader, limits()):
            if entry.path == manifest_name and entry.size > MAX_MANIFEST:
                raise BadTarball(f"{manifest_name} is larger than {MAX_MANIFEST} bytes")
            data = uploads.store_entry(release.name(entry.path), entry)
            if entry.path == manifest_name:
                manifest_bytes = data
            if progress:
                progress(reader.count, length)
        uploads.finish()
    return _manifest(release, manifest_name, manifest_bytes), reader.sha256.hexdigest()


def _manifest(release: Release, name: str, data: bytes | None) -> dict:
    if data is None:
        raise InstallError(f"the tarball has no {name} at its root")
    try:
        manifest = json.loads(data)
    except ValueError:
        raise InstallError(f"{name} is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise InstallError(f"{name} must be a JSON object")
    if manifest.get("slug", release.slug) != release.slug:
        raise InstallError(f"{name} is for the slug {str(manifest.get('slug'))[:64]!r}, not {release.slug!r}")
    version = manifest.get("version")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise InstallError(f"{name} has no valid version")
    return manifest


def _commit(release: Release, manifest: dict, sha256: str, stored: list[StoredFile]) -> Release:
    version = manifest["version"]
    try:
        with transaction.atomic():
            flipped = Release.objects.filter(pk=release.pk, state=Release.State.INSTALLING).update(
                state=Release.State.READY, version=version, sha256=sha256, manifest=manifest,
                files=len(stored), size=sum(f.size for f in stored),
                stored_size=sum(f.stored_size for f in stored),
            )  # fmt: skip
            if not flipped:  # taken for dead (see expire_stale_claims): its files are the GC's now
                raise InstallError("this install took too long and was given up; try again")
            ReleaseFile.objects.bulk_create(
                [ReleaseFile(release=release, path=f.path, size=f.size, md5=f.md5, encoding=f.encoding,
                             stored_size=f.stored_size, mime=f.mime) for f in stored], batch_size=500)  # fmt: skip
    except IntegrityError:  # the same tarball became ready meanwhile: use that copy
        winner = ready_release(release.kind, release.slug, sha256)
        if winner is None:
            raise
        discard(release, [f.path for f in stored])
        return winner
    release.refresh_from_db()
    log.info("release %s stored: %d files", release, len(stored))
    return release


def discard(release: Release, paths: list[str] | None = None) -> None:
    """Delete a release's objects (the given paths, or whatever is listed under it), then its row."""
    store = store_of(release.kind)
    names = [release.name(p) for p in paths] if paths is not None else None
    try:
        if names is None:
            names = [obj.name for obj in store.list(f"{release.slug}/{release.uid}/")]
        if names:
            store.delete_many(names)
    except OSError:
        log.warning("release %s: its objects could not all be deleted; the GC will retry", release)
        Release.objects.filter(pk=release.pk).update(state=Release.State.DELETING)
        return
    Release.objects.filter(pk=release.pk).delete()
