"""PATCH /files/{id}: rename, move, tags, executable, dates, cozyMetadata, or
deletion for good (``permanent_delete``), with cozy-stack's ``If-Match``."""

from __future__ import annotations

from datetime import UTC

from django.db import IntegrityError, transaction

from cozy.files.content import check_if_match
from cozy.files.errors import BadRequest, Conflict
from cozy.files.jsonapi import PatchAttributes
from cozy.files.models import TRASH_ID, Node
from cozy.files.names import check_name
from cozy.files.trash import destroy_now
from cozy.files.tree import check_move_target, check_not_special, get_dir, get_node, is_in_trash, lock_tree

MAX_TAGS = 100
MAX_TAG_LENGTH = 255


def patch_node(instance, file_id: str, attrs: PatchAttributes, if_match: str | None) -> Node:
    if attrs.permanent_delete:
        return destroy_now(instance, file_id, if_match)
    changes = attrs.model_dump(exclude_none=True, exclude={"permanent_delete"})
    if not changes:
        raise BadRequest("give at least one attribute to change (name, dir_id, tags, executable, updated_at...)")
    try:
        with transaction.atomic():
            lock_tree(instance)  # two crossed moves must not both pass the cycle check
            node = get_node(instance, file_id, for_update=True)
            check_not_special(node)
            check_if_match(node, if_match)
            _apply(instance, node, attrs)
            node.save(touch=attrs.updated_at is None)
    except IntegrityError:
        raise Conflict("a file or directory with this name already exists there") from None
    return node


def _apply(instance, node: Node, attrs: PatchAttributes) -> None:
    if attrs.name is not None or attrs.dir_id is not None:
        _rename_or_move(instance, node, attrs)
    if attrs.tags is not None:
        node.tags = check_tags(attrs.tags)
    if attrs.executable is not None:
        if node.is_dir:
            raise Conflict("a directory cannot be executable")
        node.executable = attrs.executable
    if attrs.updated_at is not None:
        if attrs.updated_at.tzinfo is None:
            raise BadRequest("updated_at needs a time zone (RFC 3339)")
        node.updated_at = attrs.updated_at.astimezone(UTC)
    if attrs.cozyMetadata is not None:
        node.cozy_metadata = {**(node.cozy_metadata or {}), **attrs.cozyMetadata}


def _rename_or_move(instance, node: Node, attrs: PatchAttributes) -> None:
    if node.trashed:
        raise Conflict("restore this entry from the trash first")
    if attrs.name is not None:
        node.name = check_name(attrs.name)
    if attrs.dir_id is not None and (node.parent is None or attrs.dir_id != node.parent.doc_id):
        target = get_dir(instance, attrs.dir_id)
        check_move_target(node, target)
        if target.trashed or is_in_trash(target) or target.doc_id == TRASH_ID:
            raise Conflict("use DELETE to put something in the trash")
        node.parent = target


def check_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS or any(not t or len(t) > MAX_TAG_LENGTH for t in tags):
        raise BadRequest(f"tags: at most {MAX_TAGS}, each 1 to {MAX_TAG_LENGTH} characters")
    return list(dict.fromkeys(tags))  # as a set, in the order given
