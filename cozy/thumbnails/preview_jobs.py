"""Making a PDF preview on demand, with its failures recorded like the thumbnails'.

The preview route makes a missing preview in the request. A failure is recorded in
the content's ``preview`` job row (reason, permanent or not, attempts), never as an
object in the store: a permanent one (a corrupt PDF, over the limits) is answered
from that row without reading the PDF again, a passing one (a store outage, the
time limit) is tried again after the same doubling backoff as the thumbnails.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import DatabaseError
from django.utils import timezone

from cozy.instances.models import Instance
from cozy.thumbnails.errors import ThumbnailError
from cozy.thumbnails.models import ThumbnailJob
from cozy.thumbnails.previews import make_preview
from cozy.thumbnails.tasks import record_failure

PREVIEW = ThumbnailJob.Kind.PREVIEW
PASSING = OSError  # the store; a database error is no failure of the preview


class PreviewHeld(Exception):
    """A recorded failure stands: no new attempt now (``retry_after`` seconds), or never (None)."""

    def __init__(self, reason: str, retry_after: int | None):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def _held(job: ThumbnailJob) -> PreviewHeld | None:
    if job.state != ThumbnailJob.State.FAILED or job.may_queue():
        return None
    at = job.next_try()
    if at is None:
        return PreviewHeld(job.reason, None)
    return PreviewHeld(job.reason, max(1, int((at - timezone.now()) / timedelta(seconds=1))))


def preview_or_failure(instance: Instance, file_id: str, content_id: str) -> bytes | None:
    """Make the preview (None: no such PDF content), unless a recorded failure holds it back.

    Raises PreviewHeld, or the failure it just recorded (ThumbnailError, OSError).
    """
    job = ThumbnailJob.objects.filter(instance=instance, content_id=content_id, kind=PREVIEW).first()
    if job is not None and (held := _held(job)) is not None:
        raise held
    attempts = job.attempts + 1 if job is not None else 1
    try:
        data = make_preview(instance, file_id, content_id)  # bounded by the thumbnail limits
    except ThumbnailError as err:
        _record(instance, file_id, content_id, err.reason, str(err), err.permanent, attempts)
        raise
    except PASSING as err:
        _record(instance, file_id, content_id, "storage", type(err).__name__, False, attempts)
        raise
    if job is not None:
        ThumbnailJob.objects.filter(pk=job.pk).delete()
    return data


def _record(instance: Instance, file_id: str, content_id: str, reason: str, detail: str, permanent: bool,
            attempts: int) -> None:  # fmt: skip
    try:
        record_failure(instance, file_id, content_id, reason, detail, permanent, kind=PREVIEW)
        ThumbnailJob.objects.filter(instance=instance, content_id=content_id, kind=PREVIEW).update(attempts=attempts)
    except DatabaseError:  # the answer stays the failure's; the next request tries again
        pass
