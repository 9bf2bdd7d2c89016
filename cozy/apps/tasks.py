"""Celery tasks: installs and updates asked for over the API, and the periodic release GC."""

from __future__ import annotations

import logging

from celery import shared_task

from cozy.apps import gc
from cozy.apps.installs import REFUSED, finish_install
from cozy.apps.models import Installation
from cozy.celery import app

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_install(installation_id: int, source: str | None = None) -> str:
    installation = Installation.objects.filter(pk=installation_id).first()
    if installation is None:
        return "gone"
    try:
        finish_install(installation, source)
    except REFUSED as err:
        log.info("install of %s refused: %s", installation.slug, err)
        return "errored"
    return "ready"


@shared_task
def collect_releases() -> int:
    return len(gc.collect())


@app.on_after_finalize.connect
def _schedule(sender, **kwargs) -> None:
    every = float(getattr(sender.conf, "cozy_apps_gc_every", 3600))
    sender.add_periodic_task(every, collect_releases.s(), name="collect unused app releases")
