"""Dynamic assets: files of a context (logos, themes) in ``<bucket_prefix>-assets``.

Adding one streams its source into a fresh object while hashing it; only when
the sha256 (required) matched is a brotli copy made (from the stored object)
and the row written, in one transaction that also points at the new objects;
the old ones are deleted after the commit. A wrong or missing sum stores
nothing. Every request reads the row, so a change is seen at once by every
process (no cache to invalidate); a 304 needs no S3 request.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator

import brotli
from django.db import transaction

from cozy.apps.checks import asset_references, check_assets
from cozy.apps.copier import brotli_quality, mime_of, worth_compressing
from cozy.apps.models import Asset, new_release_id
from cozy.apps.reach import TRUSTED
from cozy.apps.sources import GIT_SCHEMES, BadSource, open_source, parse_source
from cozy.apps.tarball import BadTarball, HashingReader, clean_path
from cozy.storage.areas import Area
from cozy.storage.stores import system_store
from vfs_s3.storage import S3Storage

ASSETS = Area("assets", "assets", system=True, check=check_assets, referenced=asset_references)
CONTEXT = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_ASSET = 1024 * 1024 * 1024
CHUNK = 1024 * 1024


class AssetError(ValueError):
    """Refused (the message is safe to show)."""


def store() -> S3Storage:
    return system_store(ASSETS)


def check_names(context: str, name: str) -> str:
    if not CONTEXT.fullmatch(context):
        raise AssetError("a context is 1-64 lower-case letters, digits, '-' or '_'")
    try:
        clean = clean_path(name)
    except BadTarball as err:
        raise AssetError(str(err).replace("entry", "asset name", 1)) from None
    if clean != name or len(name) > 255:
        raise AssetError("an asset name is a relative path, as given, of at most 255 characters")
    return clean


def add(context: str, name: str, source_text: str) -> Asset:
    check_names(context, name)
    try:
        source = parse_source(source_text)
    except BadSource as err:
        raise AssetError(str(err)) from None
    if source.scheme == "registry" or source.scheme in GIT_SCHEMES:
        raise AssetError("an asset's source is a file:// or http(s):// URL")
    if not source.sha256:
        raise AssetError("an asset's source needs its sum: add #sha256=<hex>")
    row = Asset(context=context, name=name, uid=new_release_id(), mime=mime_of(name), source=source.url)
    try:
        _store(row, source)
        return _commit(row)
    except BaseException:
        with contextlib.suppress(OSError):
            store().delete_many([row.key, f"{row.key}.br"])
        raise


def _store(row: Asset, source) -> None:
    md5 = hashlib.md5(usedforsecurity=False)
    with open_source(source, TRUSTED) as (raw, _):  # the operator's (manage.py, a staff session)
        reader = HashingReader(raw, MAX_ASSET)

        def chunks() -> Iterator[bytes]:
            while data := reader.read(CHUNK):
                md5.update(data)
                yield data

        row.size = store().put(row.key, chunks(), content_type=row.mime).size
    if reader.sha256.hexdigest() != source.sha256:
        raise AssetError("the asset's sha256 does not match the source's")
    row.sha256, row.md5 = source.sha256, md5.hexdigest()
    if worth_compressing(row.name) and row.size:
        packed = store().put(f"{row.key}.br", _packed(store().read(row.key)), content_type=row.mime).size
        if packed < row.size * 0.95:
            row.br_size = packed
        else:
            store().delete(f"{row.key}.br")


def _packed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    packer = brotli.Compressor(quality=brotli_quality())
    for chunk in chunks:
        if out := packer.process(chunk):
            yield out
    yield packer.finish()


def _commit(row: Asset) -> Asset:
    with transaction.atomic():
        old = Asset.objects.select_for_update().filter(context=row.context, name=row.name).first()
        if old is not None:
            row.pk, row.created_at = old.pk, old.created_at
            _delete_after_commit(old)
        row.save()
    return row


def _delete_after_commit(old: Asset) -> None:
    names = [old.key] + ([old.br_key] if old.br_key else [])
    transaction.on_commit(lambda: _delete_quietly(names))


def _delete_quietly(names: list[str]) -> None:
    with contextlib.suppress(OSError):  # an object left behind is an orphan for apps fsck
        store().delete_many(names)


def remove(context: str, name: str) -> None:
    with transaction.atomic():
        row = Asset.objects.select_for_update().filter(context=context, name=name).first()
        if row is None:
            raise AssetError(f"no asset {name!r} in context {context!r}")
        row.delete()
        _delete_after_commit(row)


def find(context: str, name: str) -> Asset | None:
    return Asset.objects.filter(context=context, name=name).first()
