"""Job rows: created with the work they describe, claimed once by a worker, finished exactly once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q
from django.utils import timezone

from marketplace.models import Job, Organization

logger = logging.getLogger(__name__)


def job_create(
    *, kind: str, organization: Organization, user: AbstractBaseUser | None, config: dict[str, Any] | None = None
) -> Job:
    return Job.objects.create(kind=kind, organization=organization, created_by=user, config=config or {})


def job_claim(*, job_id: int) -> Job | None:
    """Move a job to RUNNING if nobody else runs it; None when another worker holds it or it has finished.

    The conditional UPDATE is the lock: of two deliveries of the same task only one changes the row. A RUNNING
    job whose heartbeat expired (its worker died) is taken over, which is safe because services are idempotent.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TESSERA_JOB_HEARTBEAT_TIMEOUT_S)
    claimable = Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=stale)

    changed = Job.objects.filter(claimable, pk=job_id, cancel_requested=False).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1, error=""
    )
    if changed != 1:
        logger.info("job %s not claimed (finished, cancelled or held by another worker)", job_id)
        return None
    return Job.objects.get(pk=job_id)


def job_progress(*, job: Job, progress: float, message: str = "") -> bool:
    """Record progress and a heartbeat; returns True when cancellation was requested, so loops can stop."""
    job.progress = max(0.0, min(1.0, progress))
    job.message = message[:500]
    job.heartbeat_at = timezone.now()
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        progress=job.progress, message=job.message, heartbeat_at=job.heartbeat_at
    )
    return Job.objects.filter(pk=job.pk, cancel_requested=True).exists()


def job_succeed(*, job: Job, message: str = "Done", result: dict[str, Any] | None = None) -> Job:
    now = timezone.now()
    job.status, job.progress, job.message, job.finished_at = Job.Status.SUCCEEDED, 1.0, message, now
    job.result = result or job.result
    job.save(update_fields=["status", "progress", "message", "finished_at", "result"])
    return job


def job_fail(*, job: Job, error: str, message: str = "Failed") -> Job:
    job.status, job.error, job.message, job.finished_at = Job.Status.FAILED, error, message, timezone.now()
    job.save(update_fields=["status", "error", "message", "finished_at"])
    return job


def job_mark_cancelled(*, job: Job, message: str = "Cancelled") -> Job:
    job.status, job.message, job.finished_at = Job.Status.CANCELLED, message, timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    return job


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running job to stop at its next progress report."""
    now = timezone.now()
    if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, cancel_requested=True, message="Cancelled before it started", finished_at=now
    ):
        job.refresh_from_db()
        return job
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True, message="Cancelling…")
    job.refresh_from_db()
    return job
