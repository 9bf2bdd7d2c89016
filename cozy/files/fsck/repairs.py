"""``fsck --fix`` for the files area: the repairs that know the index.

- A file whose content is missing is moved to ``/lost+found`` and recorded
  (``LostFile``); its entry is kept. A version whose content is missing has
  nothing left to restore: its row is removed once the object is confirmed gone.
- Tree problems are repaired in the index only: orphans and cycles go to
  ``/lost+found``, trashed flags follow the location, a duplicate name gets a
  free one, a missing root or trash is recreated.
- ``content_mismatch`` is left to an operator: either side may be the wrong one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from django.db import transaction

from cozy.files.events import held_contents
from cozy.files.fsck.usage import recount
from cozy.files.models import ROOT_ID, Node, Version
from cozy.files.tree import descendants, ensure_root_and_trash, free_name, fullpath, is_in_trash, lock_tree
from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.models import LostFile
from cozy.instances.models import Instance
from cozy.storage.stores import store_for

LOST_FOUND = "lost+found"


def referenced(instance: Instance, name: str) -> bool:
    """Whether the index references ``<file_id>/<content_id>`` of the files area now, or an
    unfinished import holds it (one started since the listing, say)."""
    parts = name.split("/")
    if len(parts) != 2:
        return False
    file_id, content_id = parts
    nodes = Node.objects.filter(instance=instance, doc_id=file_id, content_id=content_id)
    versions = Version.objects.filter(file__instance=instance, file__doc_id=file_id, content_id=content_id)
    return nodes.exists() or versions.exists() or name in held_contents(instance)


def _keep_held(fixer: Any, anomaly: Anomaly) -> str:
    return "kept: an unfinished import holds it (resume or roll the import back)"


class FileRepairs:
    def __init__(self, instance: Instance):
        self.instance = instance

    def _gone(self, rel: str) -> bool:
        return not store_for(self.instance, "files").exists(rel.removeprefix("files/"))

    def _fix_version_missing(self, anomaly: Anomaly) -> str:
        if not self._gone(anomaly.object):
            return "kept: the content is back"
        Version.objects.filter(
            file__instance=self.instance, file__doc_id=anomaly.file_id, content_id=anomaly.content_id
        ).delete()
        return "version entry removed (its content was gone)"

    def _fix_filesystem_missing(self, anomaly: Anomaly) -> str:
        if not self._gone(anomaly.object):
            return "kept: the content is back"
        with transaction.atomic():
            node = self._locked_node(anomaly.file_id)
            if node.content_id != anomaly.content_id:
                return "kept: the file has new content"
            former = fullpath(node)
            self._move_to_lost_found(node)
            LostFile.objects.update_or_create(
                instance=self.instance, doc_id=node.doc_id,
                defaults={"content_id": node.content_id, "former_path": former},
            )  # fmt: skip
        return f"moved to /{LOST_FOUND}"

    def _locked_node(self, doc_id: str) -> Node:
        """The entry, row-locked after the instance's tree lock, as every change to a tree
        takes it (inside the caller's transaction): a user's move cannot cross this repair."""
        lock_tree(self.instance)
        return Node.objects.select_for_update().get(instance=self.instance, doc_id=doc_id)

    # -- tree ---------------------------------------------------------------
    def _lost_found(self) -> Node:
        root = Node.objects.get(instance=self.instance, doc_id=ROOT_ID)
        found = Node.objects.filter(parent=root, name=LOST_FOUND, type=Node.Type.DIRECTORY, trashed=False).first()
        if found is None:
            found = Node.objects.create(
                instance=self.instance, type=Node.Type.DIRECTORY, parent=root, name=free_name(root, LOST_FOUND)
            )
        return found

    def _move_to_lost_found(self, node: Node) -> None:
        target = self._lost_found()
        node.parent, node.name, node.trashed, node.restore_path = target, free_name(target, node.name), False, ""
        node.save()
        below = [d.pk for d in descendants(node)]
        Node.objects.filter(pk__in=below, trashed=True).update(trashed=False)

    def _move_node(self, anomaly: Anomaly) -> str:
        with transaction.atomic():
            node = self._locked_node(anomaly.file_id)
            self._move_to_lost_found(node)
        return f"moved to /{LOST_FOUND}"

    _fix_index_orphan_tree = _move_node
    _fix_index_cycle = _move_node  # moving one member out breaks the cycle

    def _fix_index_missing_root(self, anomaly: Anomaly) -> str:
        ensure_root_and_trash(self.instance)
        return "recreated"

    _fix_index_missing_trash = _fix_index_missing_root

    def _fix_usage_mismatch(self, anomaly: Anomaly) -> str:
        files, versions = recount(self.instance)
        return f"counted again: {files} bytes of files, {versions} of versions"

    def _set_trashed(self, anomaly: Anomaly) -> str:
        with transaction.atomic():
            node = self._locked_node(anomaly.file_id)
            node.trashed = is_in_trash(node)
            node.save(update_fields=["trashed"])
        return f"trashed flag set to {str(node.trashed).lower()}"

    _fix_trashed_not_in_trash = _set_trashed
    _fix_not_trashed_in_trash = _set_trashed

    def _fix_index_duplicate_name(self, anomaly: Anomaly) -> str:
        with transaction.atomic():
            node = self._locked_node(anomaly.file_id)
            nfc = unicodedata.normalize("NFC", node.name)
            clash = Node.objects.filter(parent_id=node.parent_id, name=nfc).exclude(pk=node.pk).order_by("pk").first()
            if node.name == nfc and clash is None:
                return "kept: its name no longer clashes"
            # Of two equal names, the later entry is renamed.
            if node.name == nfc and clash is not None and clash.pk > node.pk:
                return "kept: the other entry is renamed"
            node.name = free_name(node.parent, nfc, exclude_pk=node.pk) if node.parent else nfc
            node.save(update_fields=["name"])
        return f"renamed to {node.name!r}"


def _repair(kind: str) -> Callable[[Any, Anomaly], str]:
    def repair(fixer: Any, anomaly: Anomaly) -> str:  # fixer: cozy.fsck.fixer.Fixer
        method: Callable[[Anomaly], str] = getattr(FileRepairs(fixer.instance), "_fix_" + kind)
        return method(anomaly)

    return repair


REPAIRS = {kind: _repair(kind) for kind in (
    A.FILESYSTEM_MISSING, A.VERSION_MISSING, A.INDEX_ORPHAN_TREE, A.INDEX_CYCLE, A.INDEX_MISSING_ROOT,
    A.INDEX_MISSING_TRASH, A.TRASHED_NOT_IN_TRASH, A.NOT_TRASHED_IN_TRASH, A.INDEX_DUPLICATE_NAME, A.USAGE_MISMATCH,
)} | {A.CONTENT_HELD: _keep_held}  # fmt: skip
