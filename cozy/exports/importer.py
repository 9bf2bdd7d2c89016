"""Import an export's zip parts into an instance: empty, or one whose owner confirmed a wipe.

Everything is read and checked before anything is written: the metadata is
validated (ids, names, parents, sizes, MD5s), every entry it names must be in
its part with its recorded size, and the quota must hold the whole. Then each
content is written through the files store with its expected MD5 (the store
refuses a mismatch), read straight from its zip entry (zipfile over a seekable
reader: an S3 object read by ranged GETs, or a local file), under fresh names
that no existing object has. Only once every content is stored and verified
does one transaction wipe the old tree (if confirmed) and create the new index;
the old objects go after that commit (DESIGN.md's ordering rule). So a failure
at any point leaves the instance's index, and every object it points at, as
they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from django.db import transaction

from cozy.exports import jsonstream, stack_layout
from cozy.exports.records import SPECIAL, InvalidRecord, Record, to_record
from cozy.exports.snapshot import FORMAT, FORMAT_VERSION, METADATA_ENTRY
from cozy.files.content import content_name, room_left
from cozy.files.errors import APIError
from cozy.files.models import Node, Version, next_seq
from cozy.files.names import mime_class
from cozy.files.trash import wipe_tree
from cozy.files.tree import lock_tree
from cozy.instances.models import Instance
from cozy.storage.stores import store_for
from vfs_s3.errors import ChecksumMismatch, ObjectTooLarge
from vfs_s3.storage import S3Storage
from vfs_s3.writer import MAX_PARTS, MIN_PART_SIZE, normalize_md5

log = logging.getLogger("cozy.exports")
BATCH = 500  # index rows made and inserted at a time by the final commit
BOUNDED_MAX = MIN_PART_SIZE * (MAX_PARTS - 1000)  # the largest content S3's smallest parts take


class ImportRefused(Exception):
    """The archive cannot be imported here; nothing was changed. ``status`` is its HTTP answer."""

    def __init__(self, message: str, status: int = 412):
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Piece:
    """One content to write: where it is in the archive, where it goes, what it must hash to."""

    part: int
    entry: str
    file_id: str
    content_id: str
    size: int
    md5: str

    @property
    def name(self) -> str:
        """Its name in the files area (made when asked: the plan holds a piece per content)."""
        return content_name(self.file_id, self.content_id)


def instance_is_empty(instance: Instance) -> bool:
    nodes = Node.objects.filter(instance=instance).exclude(doc_id__in=SPECIAL)
    return not nodes.exists() and not Version.objects.filter(file__instance=instance).exists()


def read_metadata(zips: list[zipfile.ZipFile]) -> dict[str, Any]:
    """The metadata document, its "files" as records (records.py), each checked as it is read."""
    holder = next((z for z in reversed(zips) if METADATA_ENTRY in z.namelist()), None)
    if holder is None and stack_layout.is_stack_export(zips):
        try:
            doc = stack_layout.metadata(zips)
        except (ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as err:
            raise ImportRefused("the documents of this cozy-stack export are unreadable") from err
        try:
            doc["files"] = [to_record(r) for r in doc["files"]]
        except InvalidRecord as err:
            raise ImportRefused(f"the export metadata is invalid: {err}") from None
        return doc
    if holder is None:
        raise ImportRefused("no export metadata in these zip parts (give every part, or the manifest URL)")
    try:
        with holder.open(METADATA_ENTRY) as entry:
            # piece by piece, each record made compact as it is decoded: never the whole text,
            # nor every decoded dict, in memory
            doc = jsonstream.load(entry, each=to_record)
    except InvalidRecord as err:
        raise ImportRefused(f"the export metadata is invalid: {err}") from None
    except (ValueError, zipfile.BadZipFile) as err:
        raise ImportRefused("the export metadata is unreadable") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != FORMAT_VERSION:
        raise ImportRefused("not a cozy export of a known version")
    if doc.get("parts") != len(zips):
        raise ImportRefused(f"the export has {doc.get('parts')} part(s), {len(zips)} given")
    return doc


def _piece(part: int, entry: str, size: int, md5: str, file_id: str, content_id: str,
           zips: list[zipfile.ZipFile]) -> Piece:  # fmt: skip
    if part > len(zips):
        raise ValueError("a content has no place in the archive")
    try:
        info = zips[part - 1].getinfo(entry)
    except KeyError:
        raise ValueError("a content named by the metadata is missing from its part") from None
    if info.file_size != size:
        raise ValueError("a content's size or MD5 does not match its entry")
    return Piece(part, entry, file_id, content_id, size, md5)


def _avatar_piece(rec: Any, zips: list[zipfile.ZipFile]) -> Piece | None:
    if not isinstance(rec, dict):
        return None
    part, entry, size, md5 = rec.get("part"), rec.get("entry"), rec.get("size"), normalize_md5(rec.get("md5") or "")
    if not isinstance(part, int) or part < 1 or not isinstance(entry, str) or not isinstance(size, int):
        raise ValueError("the avatar has no place in the archive")
    if size and not md5:
        raise ValueError("a content's size or MD5 does not match its entry")
    return _piece(part, entry, size, md5 or "", "avatar", "avatar", zips)


@dataclass
class Plan:
    nodes: list[Record]  # validated records, parents first
    pieces: list[Piece]
    avatar: Piece | None = None
    special_dates: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)  # root and trash

    @property
    def total_bytes(self) -> int:
        return sum(p.size for p in self.pieces)


def plan_import(doc: dict[str, Any], zips: list[zipfile.ZipFile], salt: str = "") -> Plan:
    """The validated records and the contents to write; ImportRefused on anything wrong.
    ``salt`` (the target's key prefix) derives the fresh content ids."""
    try:
        return _plan(doc, zips, salt)
    except (ValueError, TypeError, KeyError, APIError) as err:
        detail = err.detail if isinstance(err, APIError) else str(err)
        raise ImportRefused(f"the export metadata is invalid: {detail}") from None


def taken_content_ids(ids: list[str]) -> set[str]:
    """Content ids already used on this cozy (a version id is unique across it, and a current
    content becomes a version on overwrite): an import of an export made here gets fresh ones."""
    taken: set[str] = set()
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        taken.update(Version.objects.filter(content_id__in=batch).values_list("content_id", flat=True))
        taken.update(Node.objects.filter(content_id__in=batch).values_list("content_id", flat=True))
    return taken


def _derived(value: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()[:32]


def fresh_ids(ids: list[str], salt: str) -> dict[str, str]:
    """Each id mapped to itself, or, if this cozy uses it already, to one derived from it and
    ``salt`` that it does not use: the same archive maps the same way every time, so that a
    resumed import finds what it wrote, and never the name of an existing object."""
    mapping = {value: value for value in ids}
    pending = taken_content_ids(ids)
    while pending:
        candidates = {value: _derived(mapping[value], salt) for value in pending}
        for value, candidate in candidates.items():
            mapping[value] = candidate
        used = taken_content_ids(list(candidates.values()))
        pending = {value for value, candidate in candidates.items() if candidate in used}
    return mapping


def _plan(doc: dict[str, Any], zips: list[zipfile.ZipFile], salt: str) -> Plan:
    records: list[Record] = doc.pop("files")  # the plan keeps those it needs, not the document
    fresh = fresh_ids([r.content_id for r in records if r.content_id] + [v.id for r in records for v in r.versions],
                      salt)  # fmt: skip
    seen, dirs, names, pieces, nodes = set(SPECIAL), set(SPECIAL), set(), [], []
    special: dict[str, tuple[datetime, datetime]] = {}
    for rec in records:
        if rec.id in SPECIAL:
            special[rec.id] = (rec.created_at, rec.updated_at)
            continue
        if rec.id in seen or rec.dir_id not in dirs:
            raise ValueError("the tree is not in order (a parent after its child, or an id twice)")
        if (rec.dir_id, rec.name) in names:
            raise ValueError("two entries of one directory share a name")
        names.add((rec.dir_id, rec.name))
        seen.add(rec.id)
        if rec.type == "directory":
            dirs.add(rec.id)
        if rec.content_id:
            rec.content_id = fresh[rec.content_id]
            pieces.append(_piece(rec.part, rec.entry, rec.size, rec.md5, rec.id, rec.content_id, zips))
        for version in rec.versions:
            version.id = fresh[version.id]
            pieces.append(_piece(version.part, version.entry, version.size, version.md5, rec.id, version.id, zips))
        nodes.append(rec)
    return Plan(nodes, pieces, _avatar_piece(doc.get("avatar"), zips), special)


def digest(plan: Plan) -> str:
    """What identifies the contents a plan writes: a resume trusts a checkpoint only of the same."""
    hashed = hashlib.sha256()
    for i, p in enumerate(plan.pieces):  # as the lines joined by newlines, without the whole text
        hashed.update(f"{chr(10) if i else ''}{p.part} {p.entry} {p.name} {p.size} {p.md5}".encode())
    return hashed.hexdigest()


def room_for(instance: Instance, *, wipe: bool) -> int | None:
    """Bytes the import may bring: what is left, or, over a confirmed wipe, the whole quota."""
    return instance.quota_bytes if wipe else room_left(instance)


def _check_target(instance: Instance, plan: Plan, *, wipe: bool) -> None:
    if not wipe and not instance_is_empty(instance):
        raise ImportRefused("the instance is not empty: import into an empty one, or confirm the wipe", 409)
    left = room_for(instance, wipe=wipe)
    if left is not None and plan.total_bytes > left:
        raise ImportRefused("the export is larger than the instance's quota", 413)


def write_pieces(instance: Instance, plan: Plan, zips: list[zipfile.ZipFile], *,
                 skip: Callable[[int, Piece], bool] = lambda i, p: False,
                 done: Callable[[int, Piece], None] = lambda i, p: None) -> None:  # fmt: skip
    """Write every content that ``skip`` does not say is stored already; ``done`` after each."""
    files = store_for(instance, "files")
    store = bounded(files)
    for index, piece in enumerate(plan.pieces):
        if not skip(index, piece):
            try:
                into = store if piece.size <= BOUNDED_MAX else bounded(files, piece.size)
                _write_piece(into, piece.name, piece, zips)
            except (ChecksumMismatch, ObjectTooLarge, zipfile.BadZipFile, EOFError):
                raise ImportRefused("a part is damaged: a content does not match the export's metadata") from None
        done(index, piece)


def bounded(store: S3Storage, size: int = 0) -> S3Storage:
    """The store with S3's smallest parts that fit ``size`` bytes in its 10,000, one in flight: a
    large content is read ahead by one part and uploaded by one (the store's defaults hold five
    parts of 8 MiB)."""
    part = max(MIN_PART_SIZE, -(-size // (MAX_PARTS - 1000)))
    return store.with_options(part_size=part, multipart_threshold=part, parallel_parts=1)


def write_avatar(instance: Instance, plan: Plan, zips: list[zipfile.ZipFile], before: Callable[[], None]) -> None:
    """The archive's avatar, unless the instance has one of its own (kept, wipe or not)."""
    avatar = store_for(instance, "avatar")
    if plan.avatar and not avatar.exists("avatar"):
        before()
        try:
            _write_piece(avatar, "avatar", plan.avatar, zips)
        except (ChecksumMismatch, ObjectTooLarge, zipfile.BadZipFile, EOFError):
            raise ImportRefused("a part is damaged: the avatar does not match the export's metadata") from None


def commit_index(instance: Instance, plan: Plan, *, wipe: bool, in_commit: Callable[[], None]) -> None:
    """The one step that changes the index: the wipe (if confirmed) and the new tree together.
    The wiped tree's objects are deleted after the commit."""
    with transaction.atomic():
        lock_tree(instance)
        _check_target(instance, plan, wipe=wipe)
        if wipe:
            wipe_tree(instance)
        _create_tree(instance, plan)
        in_commit()


def _create_tree(instance: Instance, plan: Plan) -> None:
    """The archive's rows, in bulk: one level of the tree at a time (a level's parents have
    their keys by then), each with its place in the change feed, as Node.save would give.
    Rows are made and inserted by batches: model instances of every file at once would make
    the worker's memory grow with the number of files."""
    pks = dict(Node.objects.filter(instance=instance, doc_id__in=SPECIAL).values_list("doc_id", "pk"))
    depth = dict.fromkeys(SPECIAL, 0)
    levels: dict[int, list[Record]] = {}
    for rec in plan.nodes:  # parents first
        depth[rec.id] = depth[rec.dir_id] + 1
        levels.setdefault(depth[rec.id], []).append(rec)
    del depth
    seq = next_seq(instance.pk, len(plan.nodes)) if plan.nodes else 0
    for level in sorted(levels):
        recs = levels.pop(level)
        for start in range(0, len(recs), BATCH):
            _create_batch(instance, recs[start : start + BATCH], pks, seq + start)
        seq += len(recs)
    for doc_id, (created_at, updated_at) in plan.special_dates.items():
        Node.objects.filter(instance=instance, doc_id=doc_id).update(created_at=created_at, updated_at=updated_at)


def _create_batch(instance: Instance, recs: list[Record], pks: dict[str, int], seq: int) -> None:
    """One batch of a level's rows and their versions; ``pks`` gets its directories' keys."""
    nodes = [_node(instance, rec, pks[rec.dir_id], seq + i) for i, rec in enumerate(recs)]
    Node.objects.bulk_create(nodes, batch_size=BATCH)
    versions = []
    for rec, node in zip(recs, nodes, strict=True):
        if rec.type == "directory":
            pks[rec.id] = node.pk  # only directories are parents
        versions += [Version(file=node, content_id=v.id, size=v.size, md5=v.md5, mime=v.mime,
                             created_at=v.created_at) for v in rec.versions]  # fmt: skip
    Version.objects.bulk_create(versions, batch_size=BATCH)


def _node(instance: Instance, rec: Record, parent_pk: int, seq: int) -> Node:
    return Node(
        instance=instance, doc_id=rec.id, type=rec.type, name=rec.name, parent_id=parent_pk, trashed=rec.trashed,
        restore_path=rec.restore_path, size=rec.size, md5=rec.md5, mime=rec.mime,
        mime_class=mime_class(rec.mime) if rec.type == "file" else "", content_id=rec.content_id,
        revision=rec.revision, created_at=rec.created_at, updated_at=rec.updated_at, seq=seq,
    )  # fmt: skip


def check_archive(instance: Instance, parts: Iterable[IO[bytes]], *,
                  wipe: bool = False) -> tuple[Plan, list[zipfile.ZipFile]]:  # fmt: skip
    """What an import would write, once the parts, the metadata, the instance (empty, unless a
    wipe is confirmed) and its quota are checked; ImportRefused otherwise. Nothing is written."""
    try:
        zips = [zipfile.ZipFile(part) for part in parts]
    except zipfile.BadZipFile:
        raise ImportRefused("a part is not a zip file") from None
    if not wipe and not instance_is_empty(instance):
        raise ImportRefused("the instance is not empty: import into an empty one, or confirm the wipe", 409)
    plan = plan_import(read_metadata(zips), zips, salt=instance.db_prefix)
    _check_target(instance, plan, wipe=wipe)
    return plan, zips


def import_parts(instance: Instance, parts: Iterable[IO[bytes]], progress: Callable[[int], None] = lambda n: None,
                 on_plan: Callable[[Plan], object] = lambda plan: None, *, wipe: bool = False) -> Plan:  # fmt: skip
    """Import the zip parts (seekable binary files, in order) in one go, without a job (no
    resume): ImportRefused or an OSError, and then what was written is removed."""
    plan, zips = check_archive(instance, parts, wipe=wipe)
    on_plan(plan)
    wrote_avatar = []
    try:
        write_pieces(instance, plan, zips, done=lambda i, p: progress(p.size))
        write_avatar(instance, plan, zips, before=lambda: wrote_avatar.append(True))
        commit_index(instance, plan, wipe=wipe, in_commit=lambda: None)
    except BaseException:
        discard(instance, [p.name for p in plan.pieces], avatar=bool(wrote_avatar))
        raise
    return plan


def discard(instance: Instance, names: list[str], *, avatar: bool) -> None:
    """Remove what an import wrote and the index does not hold (best effort: fsck reports the rest)."""
    with contextlib.suppress(OSError):
        store_for(instance, "files").delete_many(unreferenced(instance, names))
        if avatar:
            store_for(instance, "avatar").delete("avatar")


def unreferenced(instance: Instance, names: list[str]) -> list[str]:
    """The written names that the index does not hold: a concurrent import of the same export
    that committed first wrote the same names, and keeps them."""
    held = {f"{f}/{c}" for f, c in Node.objects.filter(instance=instance).values_list("doc_id", "content_id")}
    held.update(f"{f}/{c}" for f, c in Version.objects.filter(file__instance=instance).values_list(
        "file__doc_id", "content_id"))  # fmt: skip
    return [name for name in names if name not in held]


def _write_piece(store: S3Storage, name: str, piece: Piece, zips: list[zipfile.ZipFile]) -> None:
    with zips[piece.part - 1].open(piece.entry) as entry:
        store.put(name, entry, length=piece.size, expected_md5=piece.md5 or None)
