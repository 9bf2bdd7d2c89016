"""Trash, restore and permanent deletion. Bytes go only after the index commits."""

from __future__ import annotations

import posixpath

from django.db import transaction

from cozy.files.changes import record_deleted, touch_many
from cozy.files.content import check_if_match, content_name, delete_after_commit
from cozy.files.errors import Conflict
from cozy.files.models import ROOT_ID, TRASH_ID, Node, Version
from cozy.files.tree import (
    check_not_special,
    descendants,
    dir_by_path,
    free_name,
    fullpath,
    get_node,
    is_in_trash,
    lock_tree,
)
from cozy.instances.models import Instance


def _trash_dir(instance: Instance) -> Node:
    return Node.objects.get(instance=instance, doc_id=TRASH_ID)


def trash(instance: Instance, doc_id: str, if_match: str | None = None) -> Node:
    with transaction.atomic():
        lock_tree(instance)
        node = get_node(instance, doc_id, for_update=True)
        check_not_special(node)
        check_if_match(node, if_match)
        if node.trashed or is_in_trash(node):
            raise Conflict("already in the trash")
        trash_dir = _trash_dir(instance)
        node.restore_path = posixpath.dirname(fullpath(node))
        node.name = free_name(trash_dir, node.name)
        node.parent = trash_dir
        node.trashed = True
        node.save()
        touch_many(instance, descendants(node), trashed=True)
    return node


def restore(instance: Instance, doc_id: str) -> Node:
    with transaction.atomic():
        lock_tree(instance)
        node = get_node(instance, doc_id, for_update=True)
        if not node.trashed or node.parent is None or node.parent.doc_id != TRASH_ID:
            raise Conflict("only a top-level entry of the trash can be restored")
        target = dir_by_path(instance, node.restore_path or "/", create=True)
        if target is None:  # a file stands where the directory was: restore at the root
            target = Node.objects.get(instance=instance, doc_id=ROOT_ID)
        node.name = free_name(target, node.name)
        node.parent = target
        node.trashed = False
        node.restore_path = ""
        node.save()
        touch_many(instance, descendants(node), trashed=False)
    return node


def _content_keys(instance: Instance, files: list[Node]) -> list[str]:
    keys = [content_name(f.doc_id, f.content_id) for f in files if f.content_id]
    for v in Version.objects.filter(file__in=files).select_related("file"):
        keys.append(content_name(v.file.doc_id, v.content_id))
    return keys


def _destroy(instance: Instance, nodes: list[Node]) -> int:
    """Delete rows (children first), then their objects after commit."""
    everything = list(nodes)
    for node in nodes:
        everything.extend(descendants(node))
    files = [n for n in everything if not n.is_dir]
    keys = _content_keys(instance, files)
    pks = [n.pk for n in everything]
    for start in range(0, len(pks), 500):
        batch = pks[start : start + 500]
        # Parent links are PROTECTed: unlink first, then delete in bulk (versions cascade).
        Node.objects.filter(pk__in=batch).update(parent=None)
    for start in range(0, len(pks), 500):
        Node.objects.filter(pk__in=pks[start : start + 500]).delete()
    record_deleted(instance, [n.doc_id for n in everything])
    delete_after_commit(instance, keys)
    return len(everything)


def destroy(instance: Instance, doc_id: str) -> int:
    with transaction.atomic():
        lock_tree(instance)
        node = get_node(instance, doc_id, for_update=True)
        check_not_special(node)
        if not node.trashed:
            raise Conflict("only an entry in the trash can be deleted for good")
        return _destroy(instance, [node])


def destroy_now(instance: Instance, doc_id: str, if_match: str | None = None) -> Node:
    """Delete for good, in the trash or not (PATCH with permanent_delete); returns the
    document as it was."""
    with transaction.atomic():
        lock_tree(instance)
        node = get_node(instance, doc_id, for_update=True)
        check_not_special(node)
        check_if_match(node, if_match)
        node.parent  # noqa: B018 - loaded now: the row is gone when the answer is made
        _destroy(instance, [node])
    return node


def empty_trash(instance: Instance) -> int:
    with transaction.atomic():
        lock_tree(instance)
        trash_dir = Node.objects.select_for_update().get(instance=instance, doc_id=TRASH_ID)
        return _destroy(instance, list(trash_dir.children.all()))


def wipe_tree(instance: Instance) -> int:
    """Delete every entry but the root and the trash (inside the caller's transaction, under
    the tree lock): rows now, their objects after the commit (an import confirmed to wipe)."""
    tops = list(Node.objects.filter(instance=instance, parent__doc_id__in=(ROOT_ID, TRASH_ID))
                .exclude(doc_id__in=(ROOT_ID, TRASH_ID)))  # fmt: skip
    return _destroy(instance, tops) if tops else 0
