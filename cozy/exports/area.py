"""The exports area, ``exports/<export_id>/<attempt>/part-<n>.zip`` (and the archives uploaded
for an import, ``exports/imports/<token>/part-1.zip``), and its fsck check."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cozy.exports import uploaded
from cozy.exports.models import Export, ImportJob
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import CheckContext, orphan
from cozy.instances.models import Instance
from cozy.storage.areas import Area
from vfs_s3.storage import Listed

KEPT = (Export.State.QUEUED, Export.State.RUNNING, Export.State.DONE)


def _live_attempts(instance: Instance) -> dict[str, str]:
    """export id -> the attempt whose objects the export keeps."""
    rows = Export.objects.filter(instance=instance, state__in=KEPT).values_list("id", "attempt")
    return dict(rows)


def _owner(name: str) -> tuple[str, str]:
    export_id, _, rest = name.partition("/")
    return export_id, rest.partition("/")[0]


def is_referenced(instance: Instance, name: str) -> bool:
    export_id, attempt = _owner(name)
    if name in uploaded.held(instance):
        return True
    return bool(attempt) and _live_attempts(instance).get(export_id) == attempt


def check_exports(ctx: CheckContext, listed: Iterable[Listed]) -> Iterator[Anomaly]:
    """Objects of an export whose row is gone, failed or expired, or of an attempt it dropped;
    uploaded archives that no unfinished import reads."""
    live, held = _live_attempts(ctx.instance), uploaded.held(ctx.instance)
    for obj in listed:
        export_id, attempt = _owner(obj.name)
        if obj.name not in held and (not attempt or live.get(export_id) != attempt):
            yield orphan(ctx.rel(obj.name), obj)


def import_holds(instance: Instance) -> list[str]:
    """The files-area names that the instance's unfinished import wrote, or will write, before
    its index commit (cozy.files.events.content_holders): fsck keeps them for a resume or a rollback."""
    unfinished = ImportJob.objects.filter(instance=instance, state__in=ImportJob.UNFINISHED)
    rows = unfinished.values_list("contents", flat=True)
    return [name for contents in rows for name in contents]


def forget(instance: Instance) -> None:
    Export.objects.filter(instance=instance).delete()


def totals(instance: Instance) -> tuple[int, int]:
    parts = [p for e in Export.objects.filter(instance=instance, state=Export.State.DONE) for p in e.parts]
    return len(parts), sum(int(p["size"]) for p in parts)


EXPORTS = Area("exports", "exports/", check=check_exports, referenced=is_referenced, forget=forget, totals=totals)
