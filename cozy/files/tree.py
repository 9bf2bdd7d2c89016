"""Tree operations on the index: root and trash, paths, descendants, lookups."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction

from cozy.files import index_sql
from cozy.files.errors import Conflict, Forbidden, Gone, NotFound
from cozy.files.models import ROOT_ID, TRASH_ID, TRASH_NAME, Node
from cozy.files.names import with_suffix
from cozy.instances.models import Instance


def ensure_root_and_trash(instance: Instance) -> tuple[Node, Node]:
    with transaction.atomic():
        root, _ = Node.objects.get_or_create(
            instance=instance, doc_id=ROOT_ID, defaults={"type": Node.Type.DIRECTORY, "name": ""}
        )
        trash, _ = Node.objects.get_or_create(
            instance=instance, doc_id=TRASH_ID,
            defaults={"type": Node.Type.DIRECTORY, "name": TRASH_NAME, "parent": root},
        )
    return root, trash


def lock_tree(instance: Instance) -> None:
    """Take the instance's row lock, inside a transaction, before any change to its tree,
    contents or quota: moves, trash and reverts then see each other's results
    (PostgreSQL; SQLite's IMMEDIATE transactions already run one at a time).

    The state is read again under the lock: a request authenticated before a deletion
    began (a long upload) must not commit into an instance being deleted."""
    state = index_sql.locked_state(instance.pk)
    if state != Instance.State.READY:
        raise Gone("this instance is being deleted")


def get_node(instance: Instance, doc_id: str, *, for_update: bool = False) -> Node:
    """A node of this instance; another instance's id is just as missing (404).

    Its parent comes in the same query (its document names it), except when locking:
    on PostgreSQL that would lock the parent's row too."""
    if for_update:
        node = Node.objects.filter(instance=instance, doc_id=doc_id).select_for_update().first()
    else:
        node = index_sql.node_with_parent(instance.pk, doc_id)
    if node is None:
        raise NotFound("no such file or directory")
    return node


def get_dir(instance: Instance, doc_id: str, *, for_update: bool = False) -> Node:
    node = get_node(instance, doc_id, for_update=for_update)
    if not node.is_dir:
        raise Conflict("this id is a file, not a directory")
    return node


def get_dir_and_clash(instance: Instance, doc_id: str, name: str) -> tuple[Node, bool]:
    """The directory, and whether ``name`` is taken in it, in one query (an upload's early checks)."""
    found = index_sql.node_and_clash(instance.pk, doc_id, name)
    if found is None:
        raise NotFound("no such file or directory")
    if not found[0].is_dir:
        raise Conflict("this id is a file, not a directory")
    return found


def ancestors(node: Node) -> Iterator[Node]:
    """The parents of a node, nearest first (stops on a cycle)."""
    seen = {node.pk}
    current = node
    while current.parent_id is not None and current.parent_id not in seen:
        current = Node.objects.get(pk=current.parent_id)
        seen.add(current.pk)
        yield current


def fullpath(node: Node) -> str:
    if node.doc_id == ROOT_ID:
        return "/"
    names = [node.name] + [a.name for a in ancestors(node) if a.doc_id != ROOT_ID]
    return "/" + "/".join(reversed(names))


def is_in_trash(node: Node) -> bool:
    return any(a.doc_id == TRASH_ID for a in ancestors(node))


def descendants(node: Node) -> list[Node]:
    """Every node of the same instance below ``node`` (breadth first, one query a level).

    A row of another instance hanging below it (a damaged index) is never included:
    trash, restore, destroy and fsck must not touch what is not theirs."""
    found: list[Node] = []
    level = [node.pk]
    seen = set(level)
    while level:
        children = list(Node.objects.filter(instance_id=node.instance_id, parent_id__in=level).exclude(pk__in=seen))
        found.extend(children)
        level = [c.pk for c in children]
        seen.update(level)
    return found


def check_not_special(node: Node) -> None:
    if node.doc_id in (ROOT_ID, TRASH_ID):
        raise Forbidden("the root and the trash cannot be changed")


def check_move_target(node: Node, target: Node) -> None:
    if not target.is_dir:
        raise Conflict("the destination is not a directory")
    if target.pk == node.pk or any(a.pk == node.pk for a in ancestors(target)):
        raise Conflict("a directory cannot be moved into itself")


def name_taken(parent: Node, name: str, exclude_pk: int | None = None) -> bool:
    qs = Node.objects.filter(parent=parent, name=name)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def free_name(parent: Node, name: str, exclude_pk: int | None = None) -> str:
    """``name``, or ``name (2)``, ``name (3)``... the first one free in ``parent``, within 255 bytes."""
    if not name_taken(parent, name, exclude_pk):
        return name
    for n in range(2, 10_000):
        candidate = with_suffix(name, f" ({n})")
        if not name_taken(parent, candidate, exclude_pk):
            return candidate
    raise Conflict("no free name left in this directory")


def dir_by_path(instance: Instance, path: str, *, create: bool = False) -> Node | None:
    """Find (or create, untrashed) the directory at ``path``."""
    current = Node.objects.get(instance=instance, doc_id=ROOT_ID)
    for part in [p for p in path.split("/") if p]:
        child = Node.objects.filter(parent=current, name=part).first()
        if child is None or not child.is_dir or child.trashed:
            if not create or child is not None:
                return None
            child = Node.objects.create(instance=instance, type=Node.Type.DIRECTORY, name=part, parent=current)
        current = child
    return current


def node_by_path(instance: Instance, path: str) -> Node | None:
    """The node at an absolute path (``/`` is the root; trashed entries under ``/.cozy_trash``)."""
    if not path.startswith("/"):
        return None
    current = Node.objects.filter(instance=instance, doc_id=ROOT_ID).first()
    for part in [p for p in path.split("/") if p]:
        if current is None or not current.is_dir:
            return None
        current = Node.objects.filter(parent=current, name=part).select_related("parent").first()
    return current
