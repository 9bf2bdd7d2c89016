"""POST /files/{id}/versions, as cozy-stack: a new revision of a file with the same content
and new metadata, its current content kept as an old version (what an upload of the same
bytes would do, without the bytes going through a client).

The version row needs an object of its own (deleting the version must never delete the
file's content), so the content is copied inside the store to a fresh key first; the
version row then points at that copy, and the file keeps its content id (its thumbnails
and download links stay valid). Ordering rule: nothing in the index until the copy is
complete; the copy removed if the commit fails.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cozy.files.content import _check_room, _discard, _prune_versions, content_name, files_store
from cozy.files.errors import Conflict
from cozy.files.models import Node, Version
from cozy.files.tree import get_node, lock_tree
from cozy.instances.models import Instance
from vfs_s3.layout import new_content_id


def new_version(instance: Instance, file_id: str, metadata: dict[str, Any], *, tags: list[str] | None = None) -> Node:
    """Keep the current content as a version, then give the file ``metadata`` (and ``tags``,
    when given: cozy-stack empties them when its Tags parameter is absent, we keep them)."""
    node = get_node(instance, file_id)
    if node.is_dir:
        raise Conflict("a directory has no versions")  # as replacing its content: 409
    _check_room(instance, node.size)  # before the copy: no bytes copied for nothing
    kept = new_content_id()
    key = content_name(node.doc_id, kept)
    files_store(instance).copy(content_name(node.doc_id, node.content_id), key,
                               md5=node.md5, content_type=node.mime or "application/octet-stream")
    try:
        with transaction.atomic():
            lock_tree(instance)  # serializes quota checks and version pruning, as overwrite_file
            current = get_node(instance, file_id, for_update=True)
            if current.content_id != node.content_id:  # overwritten meanwhile: the copy is of another content
                raise Conflict("the file changed during the request; nothing was kept, try again")
            _check_room(instance, current.size)
            Version.objects.create(file=current, content_id=kept, size=current.size, md5=current.md5,
                                   mime=current.mime, created_at=current.updated_at)
            current.metadata = metadata
            if tags is not None:
                current.tags = tags
            current.save()
            _prune_versions(instance, current)
    except BaseException:
        _discard(instance, key)
        raise
    return current
