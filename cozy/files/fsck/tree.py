"""Checks of the index tree, done in SQL so that memory stays flat.

- parent missing: one LEFT JOIN;
- trashed flag against the location, and cycles: one recursive CTE that walks
  down from the root (and from every orphan), carrying "is under the trash";
  whatever it never reaches sits in a cycle or below one;
- duplicate names: exact duplicates by GROUP BY, and names equal after Unicode
  NFC (a composed and a decomposed "é") by streaming the names and keeping only
  those not in NFC form (one of any such pair must be), then looking up their
  NFC forms.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from django.db import connection
from django.db.models import Count

from cozy.files.models import ROOT_ID, TRASH_ID, Node
from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.instances.models import Instance

CHUNK = 5000
T = Node._meta.db_table
DIR = Node.Type.DIRECTORY.value

# A node whose parent is absent, belongs to another instance, or is not a directory.
_ORPHAN = """n.instance_id = %(i)s AND n.doc_id <> %(root)s AND (
    p.id IS NULL OR p.instance_id <> n.instance_id OR p.type <> %(dir)s)"""

ORPHANS_SQL = f"""
SELECT n.doc_id, CASE WHEN n.parent_id IS NULL THEN 'no parent'
                      WHEN p.id IS NULL THEN 'parent missing'
                      WHEN p.instance_id <> n.instance_id THEN 'parent in another instance'
                      ELSE 'parent is a file' END
FROM {T} n LEFT JOIN {T} p ON p.id = n.parent_id
WHERE {_ORPHAN}"""  # noqa: S608 - the table name comes from the model; values are parameters

WALK_SQL = f"""
WITH RECURSIVE reach(id, doc_id, is_dir, in_trash, from_root) AS (
    SELECT n.id, n.doc_id, CASE WHEN n.type = %(dir)s THEN 1 ELSE 0 END, 0,
           CASE WHEN n.doc_id = %(root)s THEN 1 ELSE 0 END
    FROM {T} n LEFT JOIN {T} p ON p.id = n.parent_id
    WHERE (n.instance_id = %(i)s AND n.doc_id = %(root)s) OR ({_ORPHAN})
  UNION
    SELECT c.id, c.doc_id, CASE WHEN c.type = %(dir)s THEN 1 ELSE 0 END,
           CASE WHEN r.in_trash = 1 OR r.doc_id = %(trash)s THEN 1 ELSE 0 END, r.from_root
    FROM {T} c JOIN reach r ON c.parent_id = r.id
    WHERE r.is_dir = 1 AND c.doc_id <> %(root)s AND c.instance_id = %(i)s
)
SELECT 'flag', n.doc_id, r.in_trash, NULL FROM reach r JOIN {T} n ON n.id = r.id
WHERE n.instance_id = %(i)s AND r.from_root = 1 AND n.doc_id <> %(root)s AND n.doc_id <> %(trash)s
  AND (CASE WHEN n.trashed THEN 1 ELSE 0 END) <> r.in_trash
UNION ALL
SELECT 'unreached', n.doc_id, n.id, n.parent_id FROM {T} n
WHERE n.instance_id = %(i)s AND n.id NOT IN (SELECT id FROM reach)
"""  # noqa: S608 - the table name comes from the model; values are parameters


def _params(instance: Instance) -> dict[str, int | str]:
    return {"i": instance.pk, "root": ROOT_ID, "trash": TRASH_ID, "dir": DIR}


def check_tree(instance: Instance) -> Iterator[Anomaly]:
    yield from _root_and_trash(instance)
    yield from _orphans(instance)
    flags, unreached = _walk(instance)
    yield from flags
    yield from _cycles(unreached)
    yield from _duplicates(instance)


def _root_and_trash(instance: Instance) -> Iterator[Anomaly]:
    rows = Node.objects.filter(instance=instance, doc_id__in=[ROOT_ID, TRASH_ID]).values_list("doc_id", "type")
    specials = dict(rows)
    if specials.get(ROOT_ID) != DIR:
        yield Anomaly(A.INDEX_MISSING_ROOT, file_id=ROOT_ID)
    if specials.get(TRASH_ID) != DIR:
        yield Anomaly(A.INDEX_MISSING_TRASH, file_id=TRASH_ID)


def _orphans(instance: Instance) -> Iterator[Anomaly]:
    with connection.cursor() as cur:
        cur.execute(ORPHANS_SQL, _params(instance))
        rows = sorted(cur.fetchall())
    for doc_id, why in rows:
        yield Anomaly(A.INDEX_ORPHAN_TREE, detail=why, file_id=doc_id)


def _walk(instance: Instance) -> tuple[list[Anomaly], dict[int, tuple[str, int | None]]]:
    flags: list[Anomaly] = []
    unreached: dict[int, tuple[str, int | None]] = {}
    with connection.cursor() as cur:
        cur.execute(WALK_SQL, _params(instance))
        for kind, doc_id, a, b in cur.fetchall():
            if kind == "flag":
                flags.append(Anomaly(A.NOT_TRASHED_IN_TRASH if a else A.TRASHED_NOT_IN_TRASH, file_id=doc_id))
            else:
                unreached[a] = (doc_id, b)
    flags.sort(key=lambda x: x.file_id)
    return flags, unreached


def _cycles(unreached: dict[int, tuple[str, int | None]]) -> Iterator[Anomaly]:
    """Each cycle once; nodes merely hanging below a cycle are fixed with it."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    found: list[list[str]] = []
    for start in unreached:
        path: list[int] = []
        node: int | None = start
        while node in unreached and node not in state:
            state[node] = 1
            path.append(node)
            node = unreached[node][1]
        if node is not None and state.get(node) == 1:
            found.append(sorted(unreached[n][0] for n in path[path.index(node) :]))
        for n in path:
            state[n] = 2
    for members in sorted(found):
        yield Anomaly(A.INDEX_CYCLE, detail=f"{len(members)} directories", file_id=members[0],
                      extra={"members": members})  # fmt: skip


def _duplicates(instance: Instance) -> Iterator[Anomaly]:
    nodes = Node.objects.filter(instance=instance)
    found: set[tuple[str, str]] = set()  # (doc_id, name)
    exact = nodes.values("parent_id", "name").annotate(n=Count("id")).filter(n__gt=1)
    for row in exact:
        for doc_id in nodes.filter(parent_id=row["parent_id"], name=row["name"]).values_list("doc_id", flat=True):
            found.add((doc_id, row["name"]))
    odd: dict[tuple[int | None, str], list[tuple[str, str]]] = {}  # (parent, NFC form) -> (doc_id, name)
    for doc_id, parent_id, name in nodes.values_list("doc_id", "parent_id", "name").iterator(CHUNK):
        if not unicodedata.is_normalized("NFC", name):
            odd.setdefault((parent_id, unicodedata.normalize("NFC", name)), []).append((doc_id, name))
    for (parent, nfc), names in odd.items():
        if len(names) > 1 or nodes.filter(parent_id=parent, name=nfc).exists():
            found.update(names)
    for doc_id, name in sorted(found):
        yield Anomaly(A.INDEX_DUPLICATE_NAME, file_id=doc_id, extra={"name": name})
