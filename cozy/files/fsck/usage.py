# ruff: noqa: S608 - table names come from the models; every value is a parameter
"""The quota's counters (``files.Usage``) against the sums of the index.

The database's triggers keep them in step with every change, so a difference means a
change made with the triggers off (a restore of part of the tables, a manual edit): fsck
reports it, and ``--fix`` counts again, under the instance's lock.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection, transaction

from cozy.files.models import Node, Usage, Version
from cozy.files.tree import lock_tree
from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.instances.models import Instance


def _both_sql() -> str:
    qn = connection.ops.quote_name
    nodes, versions, usage = (qn(m._meta.db_table) for m in (Node, Version, Usage))
    counter = f"SELECT {{}} FROM {usage} WHERE instance_id = %s"
    return (f"SELECT COALESCE(({counter.format('files')}), 0), COALESCE(({counter.format('versions')}), 0), "
            f"COALESCE((SELECT SUM(size) FROM {nodes} WHERE instance_id = %s AND type = %s), 0), "
            f"COALESCE((SELECT SUM(v.size) FROM {versions} v JOIN {nodes} n ON n.id = v.file_id "
            f"WHERE n.instance_id = %s), 0)")


def counted_and_summed(instance: Instance) -> tuple[tuple[int, int], tuple[int, int]]:
    """((files, versions) of the counters, (files, versions) summed over the index), in one
    statement, one snapshot: a change committing meanwhile is on both sides or neither."""
    with connection.cursor() as cursor:
        cursor.execute(_both_sql(), [instance.pk, instance.pk, instance.pk, Node.Type.FILE.value, instance.pk])
        row = [int(v) for v in cursor.fetchone()]
    return (row[0], row[1]), (row[2], row[3])


def check_usage(instance: Instance) -> Iterator[Anomaly]:
    counted, sums = counted_and_summed(instance)
    if counted != sums:
        yield Anomaly(A.USAGE_MISMATCH, detail="the quota's counters differ from the index's sums",
                      extra={"counted": {"files": counted[0], "versions": counted[1]},
                             "summed": {"files": sums[0], "versions": sums[1]}})


def recount(instance: Instance) -> tuple[int, int]:
    """Set the counters to the index's sums. The counter row's lock is taken first, so that a
    change committing meanwhile is either in the sums or adds its own delta after."""
    with transaction.atomic():
        lock_tree(instance)
        list(Usage.objects.select_for_update().filter(instance_id=instance.pk))  # a no-op on SQLite
        _, (files, versions) = counted_and_summed(instance)
        Usage.objects.update_or_create(instance_id=instance.pk, defaults={"files": files, "versions": versions})
    return files, versions
