"""GET /files/_changes: the change feed that sync clients follow (see changes.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from cozy.files import changes
from cozy.files.models import Node
from cozy.files.query_api import couch_doc
from cozy.files.responses import ERRORS, jsonapi

router = Router(tags=["files"])
MAX_CHANGES = 10_000
# "", 0, now, a last_seq, or CouchDB's "12-g1AAA..." form (its number counts)
SINCE_PATTERN = r"^(now|[0-9]{0,18}(-[!-~]*)?)$"


def _since(raw: str, instance) -> int:
    if raw in ("", "0"):
        return 0
    if raw == "now":
        return changes.last_seq(instance)
    number = raw.split("-", 1)[0]  # CouchDB-looking "12-..." sequences: their number
    return int(number or 0)


@router.get("/files/_changes", response={200: dict, **ERRORS},
            summary="Changes after since (creations, updates, trash, deletions for good), in order")
def changes_feed(request: HttpRequest, since: str = Query("", max_length=64, pattern=SINCE_PATTERN),
                 limit: int = Query(MAX_CHANGES, ge=1, le=MAX_CHANGES), include_docs: bool = False,
                 include_file_path: bool = False, skip_deleted: bool = False, skip_trashed: bool = False,
                 fields: str = Query("", max_length=1000, pattern=r"^[A-Za-z0-9_.,]*$")):
    instance = request.auth
    start = _since(since, instance)
    keep = {"deleted": not skip_deleted, "trashed": not skip_trashed}
    found = changes.changes_since(instance, start, limit, **keep)
    last = found[-1].seq if found else start
    docs = _docs(instance, [c.doc_id for c in found if not c.deleted]) if include_docs else None
    wanted = {f for f in fields.split(",") if f} or None
    return jsonapi({
        "results": [_result(c, docs, wanted) for c in found],
        "last_seq": str(last),
        "pending": changes.pending_after(instance, last, **keep),
    })


def _docs(instance, doc_ids: list[str]) -> dict[str, dict[str, Any]]:
    paths: dict[int, str] = {}
    nodes = Node.objects.filter(instance=instance, doc_id__in=doc_ids).select_related("parent")
    nodes = nodes.prefetch_related("references")
    return {n.doc_id: couch_doc(n, paths) for n in nodes}


def _result(change: changes.Change, docs: dict[str, dict[str, Any]] | None, wanted: set[str] | None) -> dict[str, Any]:
    result: dict[str, Any] = {"id": change.doc_id, "seq": str(change.seq), "changes": [{"rev": change.rev}]}
    if change.deleted:
        result["deleted"] = True
        if docs is not None:
            result["doc"] = {"_id": change.doc_id, "_rev": change.rev, "_deleted": True}
    elif docs is not None and change.doc_id in docs:  # changed again since: the newer change carries it too
        doc = docs[change.doc_id]
        if wanted:
            doc = {k: v for k, v in doc.items() if k in wanted or k in ("_id", "_rev")}
        result["doc"] = doc
    return result
