"""The ``links.tiny`` ... ``links.large`` of a file's document: URLs with a fresh secret."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cozy.files.models import Node
from cozy.instances.models import Instance
from cozy.thumbnails.formats import PDF_MIME, THUMBNAIL_FORMATS, has_thumbnails
from cozy.thumbnails.signing import make_secret


def thumbnail_url(file_id: str, secret: str, fmt: str) -> str:
    return f"/files/{file_id}/thumbnails/{secret}/{fmt}"


def thumbnail_links(node: Any) -> dict[str, str]:
    """For a file (a Node, or a listing's NodeRow) that has or will have thumbnails; {} for
    anything else."""
    if node.is_dir or not node.content_id or not has_thumbnails(node.mime):
        return {}
    secret = make_secret(_db_prefix(node), node.doc_id, node.content_id)
    base = thumbnail_url(node.doc_id, secret, "")
    links = {fmt: base + fmt for fmt in THUMBNAIL_FORMATS}
    if node.mime == PDF_MIME:  # cozy-stack's compatibility routes
        links.update(icon=f"/files/{node.doc_id}/icon/{secret}", preview=f"/files/{node.doc_id}/preview/{secret}")
    return links


def _db_prefix(node: Any) -> str:
    if isinstance(node, Node) and Node.instance.is_cached(node):
        return node.instance.db_prefix
    return _prefix_of(node.instance_id)


@lru_cache(maxsize=4096)
def _prefix_of(instance_id: int) -> str:
    # A directory listing would look the instance up once per child: db_prefix never changes,
    # and a stale entry (an id reused after a deletion) only makes links that fail their check.
    return Instance.objects.values_list("db_prefix", flat=True).get(pk=instance_id)
