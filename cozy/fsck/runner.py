"""Run fsck on one instance: its parts (key-range shards of ``files/``, then the rest), merged.

Part ``i < shards`` checks the files whose id falls in shard ``i``; part
``shards`` checks the rest: thumbnails, unexpected keys and the index tree.
Each part is independent, so parts run one after another, in local threads, or
as Celery tasks, and the merged report is the same (sorted the same way).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, connections

from cozy.fsck.anomalies import Anomaly
from cozy.fsck.checker import Counters, FileChecker, StoreAccess, join_thumbs, orphan
from cozy.fsck.fixer import Fixer
from cozy.fsck.index_scan import expected_objects, file_contents
from cozy.fsck.models import LostFile
from cozy.fsck.shards import split
from cozy.fsck.store_scan import Listed, list_files, list_rest
from cozy.fsck.tree import check_tree
from cozy.instances.models import Instance
from cozy.instances.services import org_bucket
from vfs_s3.connection import current_client

Tick = Callable[[int], None]
LOCAL_THREADS = 4
KNOWN_TOP = {"avatar"}  # keys directly under the prefix that the layout names


@dataclass(frozen=True)
class Options:
    fix: bool = False
    deep: bool = False
    shards: int = 1
    grace: float | None = None  # None: the COZY_FSCK_ORPHAN_GRACE setting


@dataclass
class PartResult:
    anomalies: list[Anomaly]
    objects: int = 0
    entries: int = 0


@dataclass
class Report:
    domain: str
    anomalies: list[Anomaly]
    objects: int = 0
    entries: int = 0

    @property
    def fixed(self) -> int:
        return sum(1 for a in self.anomalies if a.fix and not a.fix.startswith(("kept", "not fixed", "failed")))

    def summary(self) -> dict[str, Any]:
        by_type = dict(sorted(Counter(a.type for a in self.anomalies).items()))
        return {"anomalies": len(self.anomalies), "by_type": by_type, "objects": self.objects,
                "entries": self.entries, "fixed": self.fixed}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "anomalies": [a.to_json() for a in self.anomalies], "summary": self.summary()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        summary = data["summary"]
        anomalies = [Anomaly.from_json(a) for a in data["anomalies"]]
        return cls(data["domain"], anomalies, summary["objects"], summary["entries"])


def store_for(instance: Instance) -> StoreAccess:
    return StoreAccess(current_client(), org_bucket(instance), instance.key_prefix)


def _lost(instance: Instance) -> dict[str, str]:
    return dict(LostFile.objects.filter(instance=instance).values_list("doc_id", "content_id"))


def _check_files(instance: Instance, store: StoreAccess, key_index: int, shards: int, options: Options,
                 counters: Counters) -> list[Anomaly]:  # fmt: skip
    key_range = split(shards)[key_index]
    checker = FileChecker(store, deep=options.deep, lost=_lost(instance), counters=counters)
    listed = list_files(store.client, store.bucket, instance.db_prefix, key_range)
    return list(checker.join(expected_objects(instance, key_range), listed))


def _check_rest(instance: Instance, store: StoreAccess, counters: Counters) -> list[Anomaly]:
    others: list[Anomaly] = []

    def thumbs() -> Iterator[Listed]:
        for obj in list_rest(store.client, store.bucket, instance.db_prefix):
            counters.objects += 1
            if obj.rel.startswith("thumbs/"):
                yield obj
            elif obj.rel not in KNOWN_TOP:
                others.append(orphan(obj, detail="unexpected key"))

    found = list(join_thumbs(thumbs(), file_contents(instance)))
    return found + others + list(check_tree(instance))


def run_part(instance: Instance, index: int, options: Options, tick: Tick | None = None) -> PartResult:
    """Part ``index`` of ``options.shards + 1``; with ``options.fix``, its anomalies are repaired."""
    store = store_for(instance)
    counters = Counters(tick=tick or (lambda n: None))
    if index < options.shards:
        found = _check_files(instance, store, index, options.shards, options, counters)
    else:
        found = _check_rest(instance, store, counters)
    counters.tick(counters.objects % 1000)
    if options.fix:
        fixer = Fixer(instance, store, options.grace)
        for anomaly in found:
            fixer.fix(anomaly)
    return PartResult(found, counters.objects, counters.entries)


def sort_key(a: Anomaly) -> tuple[str, ...]:
    return (a.type, a.object, a.file_id, a.content_id, a.detail)


def merge(domain: str, parts: list[PartResult]) -> Report:
    found = sorted((a for p in parts for a in p.anomalies), key=sort_key)
    return Report(domain, found, sum(p.objects for p in parts), sum(p.entries for p in parts))


def _in_thread(instance: Instance, index: int, options: Options, tick: Tick | None) -> PartResult:
    close_old_connections()
    try:
        return run_part(instance, index, options, tick)
    finally:
        connections.close_all()  # this thread's connections only


def check_instance(instance: Instance, options: Options = Options(), tick: Tick | None = None) -> Report:
    """Every part of the instance: in this thread, or in local threads when sharded."""
    indexes = range(options.shards + 1)
    if options.shards == 1:
        parts = [run_part(instance, i, options, tick) for i in indexes]
    else:
        with ThreadPoolExecutor(min(LOCAL_THREADS, len(indexes)), thread_name_prefix="fsck") as pool:
            parts = list(pool.map(lambda i: _in_thread(instance, i, options, tick), indexes))
    return merge(instance.domain, parts)

