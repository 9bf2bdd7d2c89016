"""Run fsck on one instance: every registered storage area, in parts, merged.

Part ``i < shards`` checks shard ``i`` of every sharded area (the files, by
file id); part ``shards`` checks the rest: the other areas, each area's index
(the files tree), and the keys that no area claims.
Each part is independent, so parts run one after another, in local threads, or
as Celery tasks, and the merged report is the same (sorted the same way).

The system areas (shared by instances: app releases, assets) are checked once,
not per instance, by :func:`check_system`: each one's bucket listing is handed
to its ``check``, and the report's domain is :data:`SYSTEM`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, connections

from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import CheckContext, Counters, SystemContext, orphan
from cozy.fsck.fixer import Fixer
from cozy.fsck.listing import list_range, list_unclaimed
from cozy.fsck.shards import split
from cozy.instances.models import Instance
from cozy.storage.areas import Area, instance_areas, system_areas
from cozy.storage.stores import instance_root, place_of, store_for, system_store
from s3util.errors import StorageError
from vfs_s3.storage import Listed, S3Storage

Tick = Callable[[int], None]
LOCAL_THREADS = 4
SYSTEM = "@system"  # the "domain" of the system areas' report (no domain has an "@")


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


def _context(instance: Instance, area: Area, options: Options, counters: Counters, key_range=None) -> CheckContext:
    return CheckContext(instance, area, store_for(instance, area), options.deep, counters, key_range)


def _counted(objects: Iterable[Listed], counters: Counters) -> Iterator[Listed]:
    for obj in objects:
        counters.count_object()
        yield obj


def _check_shard(instance: Instance, index: int, options: Options, counters: Counters) -> Iterator[Anomaly]:
    key_range = split(options.shards)[index]
    for area in instance_areas():
        if area.sharded and area.check:
            ctx = _context(instance, area, options, counters, key_range)
            yield from area.check(ctx, _counted(list_range(ctx.store, key_range), counters))


def _check_rest(instance: Instance, options: Options, counters: Counters) -> Iterator[Anomaly]:
    for area in instance_areas():
        ctx = _context(instance, area, options, counters)
        if not area.sharded:
            yield from _checked(area, ctx, _counted(_area_objects(ctx), counters))
        if area.check_index:
            yield from area.check_index(ctx)
    for obj in _counted(list_unclaimed(instance_root(place_of(instance))), counters):
        yield orphan(obj.name, obj, detail="unexpected key")


def _checked(area: Area, ctx: CheckContext | SystemContext, listed: Iterator[Listed]) -> Iterable[Anomaly]:
    """The area's check of its (counted) listing; an area without one has its objects counted only."""
    if area.check:
        return area.check(ctx, listed)
    deque(listed, maxlen=0)
    return ()


def _area_objects(ctx: CheckContext) -> Iterator[Listed]:
    """A folder area's objects; a single-key area's one object, if it exists."""
    if ctx.area.is_folder:
        return ctx.store.list()
    return (obj for obj in ctx.store.list(ctx.area.path, recursive=False) if obj.name == ctx.area.path)


def run_part(instance: Instance, index: int, options: Options, tick: Tick | None = None) -> PartResult:
    """Part ``index`` of ``options.shards + 1``; with ``options.fix``, its anomalies are repaired."""
    counters = Counters(tick=tick or (lambda n: None))
    if index < options.shards:
        found = list(_check_shard(instance, index, options, counters))
    else:
        found = list(_check_rest(instance, options, counters))
    counters.tick(counters.objects % 1000)
    if options.fix:
        fixer = Fixer(instance, options.grace)
        for anomaly in found:
            fixer.fix(anomaly)
    return PartResult(found, counters.objects, counters.entries)


def _check_system(names: Iterable[str] | None, options: Options, counters: Counters) -> Iterator[Anomaly]:
    for area in system_areas():
        if names is None or area.name in names:
            ctx = SystemContext(area, system_store(area), options.deep, counters)
            for anomaly in _checked(area, ctx, _counted(_bucket_listing(area, ctx.store), counters)):
                anomaly.area = area.name
                yield anomaly


def _bucket_listing(area: Area, store: S3Storage) -> Iterator[Listed]:
    try:
        yield from store.list()
    except FileNotFoundError:  # the bucket itself: setup_storage creates it at each start
        missing = f"the bucket of system area {area.name!r} is missing (run manage.py setup_storage)"
        raise StorageError(missing) from None


def check_system(options: Options = Options(), tick: Tick | None = None,
                 names: Iterable[str] | None = None) -> Report:
    """Every system area (or those ``names``), once for all instances; ``options.fix`` repairs."""
    counters = Counters(tick=tick or (lambda n: None))
    found = list(_check_system(None if names is None else set(names), options, counters))
    counters.tick(counters.objects % 1000)
    if options.fix:
        fixer = Fixer(None, options.grace)
        for anomaly in found:
            fixer.fix(anomaly)
    return merge(SYSTEM, [PartResult(found, counters.objects, counters.entries)])


def count_expected(instance: Instance) -> int:
    """The objects the areas' indexes know of (for a progress bar)."""
    return sum(area.totals(instance)[0] for area in instance_areas() if area.totals)


def sort_key(a: Anomaly) -> tuple[str, ...]:
    return (a.area, a.type, a.object, a.file_id, a.content_id, a.detail)


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

