"""POST /files/{id}/copy: a new file with the same content, copied inside the store
(no bytes through cozy) to a fresh key, then committed as any upload (ordering rule:
nothing in the index until the copy is complete; the copy removed if the commit fails)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from cozy.files.content import _check_room, _discard, _writable_dir, content_name, files_store
from cozy.files.errors import Conflict
from cozy.files.events import content_committed
from cozy.files.models import Node
from cozy.files.names import check_name, with_suffix
from cozy.files.tree import get_node, lock_tree, name_taken
from cozy.instances.models import Instance
from vfs_s3.layout import new_content_id


def _free_copy_name(parent: Node, name: str) -> str:
    """``a (copy).txt``, else ``a (copy) (2).txt``...: "(copy)" is kept whole even when the
    stem must be cut to stay within 255 bytes."""
    for n in range(1, 10_000):
        candidate = with_suffix(name, " (copy)" if n == 1 else f" (copy) ({n})")
        if not name_taken(parent, candidate):
            return candidate
    raise Conflict("no free name left in this directory")


def copy_file(instance: Instance, file_id: str, *, name: str = "", dir_id: str = "") -> Node:
    source = get_node(instance, file_id)
    if source.is_dir:
        raise Conflict("only files can be copied")
    parent = _writable_dir(instance, dir_id or (source.parent.doc_id if source.parent else ""))
    wanted = check_name(name) if name else None
    if wanted and name_taken(parent, wanted):  # before the copy: no bytes copied for nothing
        raise Conflict("a file or directory with this name already exists there")
    _check_room(instance, source.size)
    node = Node(instance=instance, type=Node.Type.FILE, name=wanted or "", parent=parent, size=source.size,
                md5=source.md5, mime=source.mime, content_id=new_content_id(), tags=list(source.tags or []),
                metadata=dict(source.metadata or {}), executable=source.executable)
    key = content_name(node.doc_id, node.content_id)
    files_store(instance).copy(content_name(source.doc_id, source.content_id), key,
                               md5=source.md5, content_type=source.mime or "application/octet-stream")
    try:
        with transaction.atomic():
            lock_tree(instance)
            node.parent = _writable_dir(instance, parent.doc_id)  # under the lock: not trashed meanwhile
            _check_room(instance, node.size)
            node.name = wanted or _free_copy_name(node.parent, source.name)
            node.save(force_insert=True)
            content_committed.send(Node, instance=instance, node=node)  # its own thumbnails, as an upload
    except IntegrityError:
        _discard(instance, key)
        raise Conflict("a file or directory with this name already exists there") from None
    except BaseException:
        _discard(instance, key)
        raise
    return node
