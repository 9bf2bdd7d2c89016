"""``--fix``: repair only what is safe, and say what was done for each anomaly.

- Orphan objects (``index_missing``, ``thumbnail_with_no_file``) are removed
  only when older than the grace period (``COZY_FSCK_ORPHAN_GRACE`` seconds,
  default one day) and still unreferenced when checked again just before: an
  upload between its write and its index commit is never removed.
- A file whose content is missing is moved to ``/lost+found`` and recorded
  (``LostFile``); its entry is kept. A version whose content is missing has
  nothing left to restore: its row is removed once the object is confirmed gone.
- Tree problems are repaired in the index only: orphans and cycles go to
  ``/lost+found``, trashed flags follow the location, a duplicate name gets a
  free one, a missing root or trash is recreated.
- ``content_mismatch`` is left to an operator: either side may be the wrong one.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from cozy.files.models import ROOT_ID, Node, Version
from cozy.files.tree import descendants, ensure_root_and_trash, free_name, fullpath, is_in_trash, lock_tree
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.checker import StoreAccess
from cozy.fsck.models import LostFile
from cozy.instances.models import Instance
from s3util import delete_objects, is_not_found, sanitize_error

log = logging.getLogger("cozy.fsck")
LOST_FOUND = "lost+found"
DEFAULT_GRACE = 86400


def orphan_grace() -> float:
    value = getattr(settings, "COZY_FSCK_ORPHAN_GRACE", None)
    if value is None:
        value = os.environ.get("COZY_FSCK_ORPHAN_GRACE", DEFAULT_GRACE)
    return float(value)


class Fixer:
    def __init__(self, instance: Instance, store: StoreAccess, grace: float | None = None):
        self.instance, self.store = instance, store
        self.grace = orphan_grace() if grace is None else grace

    def fix(self, anomaly: Anomaly) -> None:
        handler = getattr(self, "_fix_" + anomaly.type, None)
        try:
            anomaly.fix = handler(anomaly) if handler else "not fixed: needs an operator"
        except Exception as err:  # noqa: BLE001 - one failed repair must not stop the others
            anomaly.fix = f"failed: {sanitize_error(err)}"
            log.warning("fsck --fix of a %s failed: %s", anomaly.type, sanitize_error(err))

    # -- objects ------------------------------------------------------------
    def _young(self, anomaly: Anomaly) -> bool:
        modified = anomaly.extra.get("last_modified")
        if not modified:
            return True
        return datetime.fromisoformat(modified) > datetime.now(UTC) - timedelta(seconds=self.grace)

    def _referenced(self, rel: str) -> bool:
        parts = rel.split("/")
        if len(parts) != 3 or parts[0] != "files":
            return False
        file_id, content_id = parts[1], parts[2]
        nodes = Node.objects.filter(instance=self.instance, doc_id=file_id, content_id=content_id)
        versions = Version.objects.filter(file__instance=self.instance, file__doc_id=file_id, content_id=content_id)
        return nodes.exists() or versions.exists()

    def _remove_orphan(self, anomaly: Anomaly) -> str:
        if self._young(anomaly):
            return "kept: younger than the grace period (an upload may be in flight)"
        if self._referenced(anomaly.object):
            return "kept: the index references it now"
        delete_objects(self.store.client, self.store.bucket, [self.store.prefix + anomaly.object])
        return "removed"

    _fix_index_missing = _remove_orphan
    _fix_thumbnail_with_no_file = _remove_orphan

    def _gone(self, rel: str) -> bool:
        try:
            self.store.client.stat_object(self.store.bucket, self.store.prefix + rel)
        except Exception as err:
            if is_not_found(err):
                return True
            raise
        return False

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
            if node.name == nfc and clash.pk > node.pk:  # of two equal names, the later entry is renamed
                return "kept: the other entry is renamed"
            node.name = free_name(node.parent, nfc, exclude_pk=node.pk) if node.parent else nfc
            node.save(update_fields=["name"])
        return f"renamed to {node.name!r}"
