"""Celery tasks: installs and updates asked for over the API, and the periodic release GC."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from cozy.apps import gc
from cozy.apps.installs import REFUSED, finish_install, owners_reach
from cozy.apps.models import Installation

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_install(installation_id: int, source: str | None = None) -> str:
    """An install or update an owner asked for: its source reaches what owners' sources may."""
    installation = Installation.objects.filter(pk=installation_id).first()
    if installation is None:
        return "gone"
    try:
        finish_install(installation, source, reach=owners_reach())
    except REFUSED as err:
        log.info("install of %s refused: %s", installation.slug, err)
        return "errored"
    return "ready"


@shared_task
def collect_releases() -> int:
    return len(gc.collect())


@worker_ready.connect
def _collect_at_start(**kwargs) -> None:
    """Beat runs the GC hourly (CELERY_BEAT_SCHEDULE); a worker also runs it once when it starts,
    so a deployment without beat still collects."""
    collect_releases.delay()
