"""What an area's check is handed: its instance, its store, the options, the counters.

An area's ``check(ctx, listed)`` joins the objects the runner listed for it with
what its index expects, and yields :class:`Anomaly` records; ``check_index(ctx)``
checks the index alone. Object names in anomalies are relative to the
instance prefix (``ctx.rel(name)``), never a bucket or a full key. A system
area's check is handed a :class:`SystemContext` (no instance) and its whole
bucket's listing; its names are relative to that bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.shards import KeyRange
from cozy.instances.models import Instance
from cozy.storage.areas import Area
from vfs_s3.storage import Listed, S3Storage


@dataclass
class Counters:
    objects: int = 0
    entries: int = 0
    heads: int = 0
    tick: Callable[[int], None] = field(default=lambda n: None)

    def count_object(self) -> None:
        self.objects += 1
        if self.objects % 1000 == 0:
            self.tick(1000)


@dataclass
class CheckContext:
    instance: Instance
    area: Area
    store: S3Storage  # names relative to the area
    deep: bool
    counters: Counters
    key_range: KeyRange | None = None  # the shard being checked, for a sharded area

    def rel(self, name: str) -> str:
        """A name of the area's store, relative to the instance prefix."""
        return self.area.path + name if self.area.is_folder else name


@dataclass
class SystemContext:
    area: Area
    store: S3Storage  # the system area's bucket
    deep: bool
    counters: Counters
    instance: None = None  # shared by instances: no one instance's check

    def rel(self, name: str) -> str:
        return name


def orphan(rel: str, obj: Listed, kind: str = A.INDEX_MISSING, detail: str = "") -> Anomaly:
    """An object that nothing references (``rel``: relative to the instance prefix)."""
    modified = obj.last_modified.isoformat() if obj.last_modified else ""
    return Anomaly(kind, detail=detail, object=rel, extra={"size": obj.size, "last_modified": modified})
