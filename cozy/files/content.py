"""File content on S3, following the ordering rule:

1. stream the bytes to a fresh key, hashing them, and verify the MD5 before
   the object is completed (nothing stored on a mismatch);
2. commit the index change in one transaction;
3. only after the commit, delete objects the index no longer references.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cozy.files import index_sql
from cozy.files.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    RequestTimeout,
    TooLarge,
    Unavailable,
)
from cozy.files.events import content_committed, contents_deleted
from cozy.files.md5s import b64_md5
from cozy.files.models import Node, Version
from cozy.files.names import check_name, guess_mime
from cozy.files.slots import upload_slot
from cozy.files.tree import get_dir, get_dir_and_clash, get_node, is_in_trash, lock_tree
from cozy.instances.models import Instance
from cozy.storage.stores import store_for
from vfs_s3.errors import ChecksumMismatch, ObjectTooLarge
from vfs_s3.layout import checked_id, new_content_id
from vfs_s3.storage import S3Storage
from vfs_s3.writer import WriteResult

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024


class ClientDisconnected(BadRequest):
    """The request body ended early (the client went away)."""


@dataclass
class Upload:
    read: Callable[[int], bytes]  # the request body
    length: int | None  # Content-Length, when known
    expected_md5: str | None  # hex
    mime: str | None
    in_hand: bool = False  # the whole body is in memory already: no slow client to wait for


def files_store(instance: Instance) -> S3Storage:
    """The instance's files area: names are ``<file_id>/<content_id>``."""
    return store_for(instance, "files")


def content_name(file_id: str, content_id: str) -> str:
    return f"{checked_id(file_id, 'file id')}/{checked_id(content_id, 'content id')}"


def used_bytes(instance: Instance) -> int:
    """Bytes of current contents and kept versions, in one query."""
    return index_sql.used_bytes(instance.pk)


def room_left(instance: Instance) -> int | None:
    if instance.quota_bytes is None:
        return None
    return max(0, instance.quota_bytes - used_bytes(instance))


def _check_room(instance: Instance, incoming: int) -> None:
    left = room_left(instance)
    if left is not None and incoming > left:
        raise TooLarge("this upload would exceed the instance's quota")


def write_content(instance: Instance, doc_id: str, upload: Upload, name: str) -> tuple[str, WriteResult, str]:
    """Stream the body to a fresh name; returns (content_id, result, mime). Step 1 of the rule.

    The store picks the way (one PUT, a streamed PUT the store checks, or multipart);
    the body is counted here against its Content-Length and the room left.
    """
    left = room_left(instance)
    if upload.length is not None and left is not None and upload.length > left:
        raise TooLarge("this upload would exceed the instance's quota")
    mime = guess_mime(name, upload.mime)
    content_id = new_content_id()
    chunks = body_chunks(upload, left)
    try:
        with upload_slot(instance):
            _release_database(upload)
            result = files_store(instance).put(content_name(doc_id, content_id), chunks, length=upload.length,
                                               expected_md5=upload.expected_md5, content_type=mime)
    except ChecksumMismatch:
        raise PreconditionFailed("the content does not match its Content-MD5") from None
    except ObjectTooLarge:
        raise TooLarge("this file is larger than the storage accepts") from None
    except OSError as err:
        log.warning("upload to object storage failed: %s", err)
        raise Unavailable("the object storage is unavailable; nothing was stored") from None
    return content_id, result, mime


def _release_database(upload: Upload) -> None:
    """Hand the database connection back while the body streams: a slow client must not hold
    one of the few the server has (a pool of them on PostgreSQL). The commit takes one again.

    A pooled connection goes back even for a body in hand (cheap: the pool keeps it open),
    as a stalled store must not hold the pool either. An unpooled one (SQLite) stays when the
    body is in hand: no one waits for it, and closing and opening it again costs."""
    if connection.in_atomic_block:
        return
    if not upload.in_hand or connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close()


def body_chunks(upload: Upload, limit: int | None) -> Iterator[bytes]:
    """The body in chunks, checked against its Content-Length and the room left."""
    total = 0
    while True:
        want = CHUNK if upload.length is None else min(CHUNK, upload.length - total)
        if want <= 0:
            break
        try:
            data = upload.read(want)
        except TimeoutError:
            raise RequestTimeout("the upload stalled: no byte came for too long, nothing was stored") from None
        except OSError as err:
            raise ClientDisconnected("the upload was interrupted before its end") from err
        if not data:
            break
        total += len(data)
        if limit is not None and total > limit:
            raise TooLarge("this upload would exceed the instance's quota")
        yield data
    if upload.length is not None and total != upload.length:
        raise ClientDisconnected("the body is shorter than its Content-Length")


def delete_after_commit(instance: Instance, names: list[str]) -> None:
    """Step 3: delete contents (names of the files area) once the index no longer references them."""
    if not names:
        return
    store = files_store(instance)

    def run() -> None:
        try:
            store.delete_many(names)
        except Exception as err:  # noqa: BLE001 - fsck reports what is left behind
            log.warning("could not delete %d unreferenced object(s): %s", len(names), type(err).__name__)
        contents_deleted.send_robust(Node, instance=instance, names=names)  # after the commit: never raise

    transaction.on_commit(run)


def _discard(instance: Instance, name: str) -> None:
    """Remove a content that never got referenced (failed commit)."""
    try:
        files_store(instance).delete_many([name])
    except Exception as err:  # noqa: BLE001 - fsck reports orphans
        log.warning("could not remove an unreferenced upload: %s", type(err).__name__)


def _writable_dir(instance: Instance, dir_id: str, *, for_update: bool = False) -> Node:
    return _check_writable(get_dir(instance, dir_id, for_update=for_update))


def _check_writable(parent: Node) -> Node:
    if parent.trashed or is_in_trash(parent) or parent.doc_id == "io.cozy.files.trash-dir":
        raise Conflict("nothing can be created in the trash")
    return parent


def create_directory(instance: Instance, dir_id: str, name: str, **fields) -> Node:
    name = check_name(name)
    try:
        with transaction.atomic():
            lock_tree(instance)
            parent = _writable_dir(instance, dir_id)  # under the lock: not trashed meanwhile
            node = Node.objects.create(instance=instance, type=Node.Type.DIRECTORY, name=name, parent=parent,
                                       **fields)
    except IntegrityError:
        raise Conflict("a file or directory with this name already exists") from None
    node.mark_new()
    return node


def create_file(instance: Instance, dir_id: str, name: str, upload: Upload, **fields) -> Node:
    name = check_name(name)
    parent, taken = get_dir_and_clash(instance, dir_id, name)
    _check_writable(parent)
    if taken:  # before the bytes are sent to the store (the unique constraint decides at the commit)
        raise Conflict("a file or directory with this name already exists")
    node = Node(instance=instance, type=Node.Type.FILE, name=name, parent=parent, **fields)
    content_id, result, mime = write_content(instance, node.doc_id, upload, name)
    key = content_name(node.doc_id, content_id)
    try:
        with transaction.atomic():
            lock_tree(instance)  # serializes quota checks
            node.parent = _writable_dir(instance, dir_id)  # again, under the lock: not trashed meanwhile
            _check_room(instance, result.size)
            node.size, node.md5, node.mime, node.content_id = result.size, result.md5, mime, content_id
            node.save(force_insert=True)
            content_committed.send(Node, instance=instance, node=node)
    except IntegrityError:
        _discard(instance, key)
        raise Conflict("a file or directory with this name already exists") from None
    except BaseException:
        _discard(instance, key)
        raise
    node.mark_new()
    return node


def check_if_match(node: Node, if_match: str | None) -> None:
    if not if_match:
        return
    wanted = {v.strip().strip('"') for v in if_match.split(",")}
    current = {node.rev, node.md5, b64_md5(node.md5)}
    if "*" not in wanted and not wanted & current:
        raise PreconditionFailed("the file changed since you read it (If-Match)")


def _keep_as_version(node: Node) -> Version:
    return Version.objects.create(
        file=node, content_id=node.content_id, size=node.size, md5=node.md5, mime=node.mime,
        created_at=node.updated_at or timezone.now(),
    )


def _prune_versions(instance: Instance, node: Node) -> None:
    cap = settings.COZY_MAX_VERSIONS
    extra = list(Version.objects.filter(file=node).order_by("-created_at", "-id")[cap:])
    if extra:
        Version.objects.filter(pk__in=[v.pk for v in extra]).delete()
        delete_after_commit(instance, [content_name(node.doc_id, v.content_id) for v in extra])


def overwrite_file(instance: Instance, file_id: str, upload: Upload, if_match: str | None, **fields) -> Node:
    node = get_node(instance, file_id)
    if node.is_dir:
        raise Conflict("a directory has no content to replace")
    check_if_match(node, if_match)
    content_id, result, mime = write_content(instance, node.doc_id, upload, node.name)
    key = content_name(node.doc_id, content_id)
    try:
        with transaction.atomic():
            lock_tree(instance)
            node = get_node(instance, file_id, for_update=True)
            check_if_match(node, if_match)
            _check_room(instance, result.size)
            _keep_as_version(node)
            node.size, node.md5, node.mime, node.content_id = result.size, result.md5, mime, content_id
            for name, value in fields.items():  # updated_at, metadata, from the request
                setattr(node, name, value)
            node.save(touch="updated_at" not in fields)
            _prune_versions(instance, node)
            content_committed.send(Node, instance=instance, node=node)
    except BaseException:
        _discard(instance, key)
        raise
    return node


def revert_version(instance: Instance, version_id: str) -> Node:
    with transaction.atomic():
        lock_tree(instance)  # as overwrite_file does: a concurrent prune cannot remove this version under us
        version = Version.objects.select_related("file").filter(file__instance=instance, content_id=version_id).first()
        node = get_node(instance, version.file.doc_id, for_update=True) if version else None
        version = Version.objects.filter(file=node, content_id=version_id).first() if node else None
        if node is None or version is None:
            raise NotFound("no such version")
        _keep_as_version(node)
        node.size, node.md5, node.mime, node.content_id = version.size, version.md5, version.mime, version.content_id
        version.delete()
        node.save()
        _prune_versions(instance, node)
    return node
