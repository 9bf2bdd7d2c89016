"""fsck on Celery: one instance (optionally as key-range shards over several workers), the
system areas (a run with no instance), or all of them.

No result backend is needed: a run and its parts are rows. Each part task
stores its anomalies; whichever part finishes last (under a row lock on the
run) merges them into ``FsckRun.report``. Parts are idempotent, so a part
re-delivered after a worker died simply runs again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from cozy.fsck.anomalies import Anomaly
from cozy.fsck.models import FsckPart, FsckRun
from cozy.fsck.runner import SYSTEM, Options, PartResult, check_system, merge, run_part
from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance
from s3util import sanitize_error

log = logging.getLogger("cozy.fsck")


def _options(run: FsckRun) -> Options:
    return Options(fix=run.fix, deep=run.deep, shards=run.shards)


def create_run(domain: str, *, fix: bool = False, deep: bool = False, shards: int = 1) -> FsckRun:
    instance = Instance.objects.get(domain=domain_key(domain))
    return FsckRun.objects.create(instance=instance, fix=fix, deep=deep, shards=shards)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fsck_instance(domain: str, fix: bool = False, deep: bool = False, shards: int = 1) -> dict[str, Any]:
    """Check one instance. Unsharded: returns the report. Sharded: returns the run id; the last part writes it."""
    return start_run(create_run(domain, fix=fix, deep=deep, shards=shards).pk)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fsck_system(fix: bool = False, deep: bool = False) -> dict[str, Any]:
    """Check the system areas (shared by instances) once; returns the report."""
    return start_run(FsckRun.objects.create(instance=None, fix=fix, deep=deep).pk)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fsck_run(run_id: int) -> dict[str, Any]:
    return start_run(run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fsck_all(fix: bool = False, deep: bool = False, shards: int = 1) -> list[int]:
    """Fan out one run per ready instance, and one of the system areas, to the workers;
    returns the run ids."""
    targets: list[Instance | None] = [*Instance.objects.filter(state=Instance.State.READY).order_by("domain"), None]
    ids = []
    for instance in targets:
        run = FsckRun.objects.create(instance=instance, fix=fix, deep=deep, shards=shards if instance else 1)
        fsck_run.delay(run.pk)
        ids.append(run.pk)
    return ids


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fsck_part(run_id: int, index: int) -> None:
    run = FsckRun.objects.select_related("instance").get(pk=run_id)
    part = FsckPart.objects.get(run=run, index=index)
    if run.instance is not None and not part.done and run.state != FsckRun.State.FAILED:
        try:
            result = run_part(run.instance, index, _options(run))
        except Exception as err:
            _fail(run_id, err)
            raise
        part.anomalies = [a.to_json() for a in result.anomalies]
        part.stats = {"objects": result.objects, "entries": result.entries}
        part.done = True
        part.save()
    _finish_if_complete(run_id)


def start_run(run_id: int) -> dict[str, Any]:
    run = FsckRun.objects.select_related("instance").get(pk=run_id)
    FsckRun.objects.filter(pk=run_id).update(state=FsckRun.State.RUNNING)
    if run.shards == 1 or run.instance is None:
        try:
            report = _whole_report(run)
        except Exception as err:
            _fail(run_id, err)
            raise
        FsckRun.objects.filter(pk=run_id).update(state=FsckRun.State.DONE, report=report, finished_at=timezone.now())
        return report
    for index in range(run.shards + 1):
        FsckPart.objects.get_or_create(run=run, index=index)
    for index in range(run.shards + 1):
        fsck_part.delay(run_id, index)
    return {"run": run_id, "state": FsckRun.State.RUNNING}


def _domain(run: FsckRun) -> str:
    return run.instance.domain if run.instance else SYSTEM


def _whole_report(run: FsckRun) -> dict[str, Any]:
    """The report of an unsharded run, checked here."""
    if run.instance is None:
        return check_system(_options(run)).to_json()
    parts = [run_part(run.instance, i, _options(run)) for i in range(2)]
    return merge(run.instance.domain, parts).to_json()


def _finish_if_complete(run_id: int) -> None:
    with transaction.atomic():
        run = FsckRun.objects.select_for_update(of=("self",)).select_related("instance").get(pk=run_id)
        parts = list(run.parts.order_by("index"))
        if run.state != FsckRun.State.RUNNING or len(parts) != run.shards + 1 or not all(p.done for p in parts):
            return
        results = [
            PartResult([Anomaly.from_json(a) for a in p.anomalies], p.stats["objects"], p.stats["entries"])
            for p in parts
        ]
        run.report = merge(_domain(run), results).to_json()
        run.state, run.finished_at = FsckRun.State.DONE, timezone.now()
        run.save()


def _fail(run_id: int, err: BaseException) -> None:
    message = sanitize_error(err)
    log.warning("fsck run %s failed: %s", run_id, message)
    FsckRun.objects.filter(pk=run_id).update(state=FsckRun.State.FAILED, error=message, finished_at=timezone.now())
