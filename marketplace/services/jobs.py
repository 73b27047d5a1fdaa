"""Job rows: created with the work they describe, claimed once by a worker, finished exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.job_errors import JobCancelled, JobInputError
from marketplace.models import Job, Organization

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
# The task that runs each kind of job, by Celery name: the sweep re-sends them without importing the upper apps.
JOB_TASKS = {
    Job.Kind.INGEST: ("marketplace.tasks.version_ingest_task", "cpu"),
    Job.Kind.SYNTHESIS: ("synthesis.tasks.synthesis_run_task", "gpu"),
    Job.Kind.TRAINING: ("training.tasks.training_run_task", "gpu"),
    Job.Kind.COMPRESSION: ("training.tasks.model_compress_task", "gpu"),
}
# What a cancelled job's output says (an ingest's version, for one).
CANCELLED_ERROR = "Processing was cancelled."


class JobHeld(Exception):
    """Another worker holds the job and its heartbeat is fresh: the delivery should come back later, not vanish
    (the holder may have died a moment ago; its heartbeat expires after TESSERA_JOB_HEARTBEAT_TIMEOUT_S)."""

    def __init__(self, job_id: int, retry_in_s: int) -> None:
        super().__init__(f"job {job_id} is held by another worker; retry in {retry_in_s} s")
        self.job_id, self.retry_in_s = job_id, retry_in_s


@dataclass(frozen=True)
class JobOutcome:
    """What a successful run reports: the job's closing message and its result (e.g. the output's primary key)."""

    message: str
    result: dict[str, Any] = field(default_factory=dict)


def job_create(
    *, kind: str, organization: Organization, user: AbstractBaseUser | None, config: dict[str, Any] | None = None
) -> Job:
    return Job.objects.create(kind=kind, organization=organization, created_by=user, config=config or {})


def job_claim(*, job_id: int) -> Job | None:
    """Move a job to RUNNING if nobody else runs it; None when it has finished or was cancelled; JobHeld when a
    worker with a fresh heartbeat runs it.

    The conditional UPDATE is the lock: of two deliveries of the same task only one changes the row. A RUNNING
    job whose heartbeat expired (its worker died) is taken over, which is safe because services are idempotent.
    """
    now = timezone.now()
    stale = _stale_before(now)
    claimable = Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=stale)

    changed = Job.objects.filter(claimable, pk=job_id, cancel_requested=False).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1, error=""
    )
    if changed == 1:
        return Job.objects.get(pk=job_id)
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.status == Job.Status.RUNNING and not job.cancel_requested:
        # Dropping this delivery would strand the job if its holder died a moment ago: come back once the
        # holder's heartbeat could have expired.
        left = (job.heartbeat_at - stale).total_seconds() if job.heartbeat_at else 0
        raise JobHeld(job_id, max(1, int(left) + 1))
    logger.info("job %s not claimed (finished or cancelled)", job_id)
    return None


def job_run(
    *,
    job_id: int,
    run: Callable[[Job, Progress], JobOutcome],
    on_stop: Callable[[Job, str], None] | None = None,
    cancelled_message: str = "Cancelled",
) -> Job | None:
    """The one job runner: claim, heartbeat and progress, cancellation, failure and success around `run`.

    `run(job, progress)` does the work and returns a JobOutcome; `progress(fraction, message)` records a heartbeat
    and raises JobCancelled once cancellation was asked. JobInputError and ApplicationError fail the job with their
    message; anything else fails it as unexpected (and is logged). `on_stop(job, error)` undoes half-written output
    before a job ends failed or cancelled (error is "" for a cancellation). Returns None when the job was not
    claimed (finished or cancelled); raises JobHeld when another live worker holds it.
    """
    job = job_claim(job_id=job_id)
    if job is None:
        if Job.objects.filter(pk=job_id, status=Job.Status.CANCELLED).exists():
            _job_settle(job_id=job_id, error=CANCELLED_ERROR)
        return None

    def progress(fraction: float, message: str) -> None:
        if job_progress(job=job, progress=fraction, message=message):
            raise JobCancelled()

    try:
        outcome = run(job, progress)
    except JobCancelled:
        if on_stop is not None:
            on_stop(job, "")
        return job_mark_cancelled(job=job, message=cancelled_message)
    except (JobInputError, ApplicationError) as exc:
        return _job_stop_failed(job=job, error=str(getattr(exc, "message", exc)), on_stop=on_stop)
    except Exception as exc:
        logger.exception("%s job %s failed", job.kind, job.pk)
        error = f"The {job.kind} job failed unexpectedly ({type(exc).__name__}: {exc})."
        return _job_stop_failed(job=job, error=error, on_stop=on_stop)
    return job_succeed(job=job, message=outcome.message, result=outcome.result)


def _job_stop_failed(*, job: Job, error: str, on_stop: Callable[[Job, str], None] | None) -> Job:
    if on_stop is not None:
        on_stop(job, error)
    return job_fail(job=job, error=error)


def _stale_before(now: datetime) -> datetime:
    """Heartbeats older than this belong to workers that died."""
    return now - timedelta(seconds=settings.TESSERA_JOB_HEARTBEAT_TIMEOUT_S)


def _job_settle(*, job_id: int, error: str) -> None:
    """A job that ended without a run to settle it (cancelled while queued or while its worker was gone, failed by
    the sweep): mark what it was making as failed too, so nothing stays `processing`."""
    job = Job.objects.get(pk=job_id)
    if job.kind == Job.Kind.INGEST:
        from marketplace.services.ingest import version_settle_failed

        version_settle_failed(job=job, error=error)


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
    _announce(job)
    return job


def _announce(job: Job) -> None:
    from marketplace.services.webhooks import webhook_emit

    webhook_emit(
        organizations=[job.organization],
        event_type=f"job.{job.status}",
        data={
            "job": job.pk,
            "kind": job.kind,
            "status": job.status,
            "message": job.message,
            "error": job.error,
            "result": job.result,
        },
    )


def job_fail(*, job: Job, error: str, message: str = "Failed") -> Job:
    job.status, job.error, job.message, job.finished_at = Job.Status.FAILED, error, message, timezone.now()
    job.save(update_fields=["status", "error", "message", "finished_at"])
    _announce(job)
    return job


def job_mark_cancelled(*, job: Job, message: str = "Cancelled") -> Job:
    job.status, job.message, job.finished_at = Job.Status.CANCELLED, message, timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    return job


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once, and a running one whose worker is gone (its heartbeat expired); ask a live
    running job to stop at its next progress report."""
    now = timezone.now()
    stale = _stale_before(now)
    if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, cancel_requested=True, message="Cancelled before it started", finished_at=now
    ):
        _job_settle(job_id=job.pk, error=CANCELLED_ERROR)
    elif Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat_at__lt=stale).update(
        status=Job.Status.CANCELLED,
        cancel_requested=True,
        message="Cancelled (its worker had stopped)",
        finished_at=now,
    ):
        _job_settle(job_id=job.pk, error=CANCELLED_ERROR)
    else:
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True, message="Cancelling…")
    job.refresh_from_db()
    return job


def job_sweep(*, send: Callable[[str, list[Any], str], None]) -> dict[str, list[int]]:
    """Find running jobs whose worker went silent: re-queue them (`send(task_name, args, queue)`) while attempts
    remain, fail them with a clear message once they are spent, and cancel those whose cancellation was asked.

    Run periodically (Celery beat; the embedded `serve` runs beat too). Each change is a conditional UPDATE, so two
    sweeps at once, or a sweep racing a late heartbeat, change a job at most once.
    """
    now = timezone.now()
    stale = Q(status=Job.Status.RUNNING, heartbeat_at__lt=_stale_before(now))
    done: dict[str, list[int]] = {"requeued": [], "failed": [], "cancelled": []}
    for job in Job.objects.filter(stale).only("pk", "kind", "attempts", "cancel_requested"):
        still_stale = Job.objects.filter(stale, pk=job.pk)
        if job.cancel_requested:
            if still_stale.update(
                status=Job.Status.CANCELLED, message="Cancelled (its worker had stopped)", finished_at=now
            ):
                _job_settle(job_id=job.pk, error=CANCELLED_ERROR)
                done["cancelled"].append(job.pk)
        elif job.attempts >= settings.TESSERA_JOB_MAX_ATTEMPTS:
            error = (
                f"The worker running this job stopped {job.attempts} times without finishing it (killed, out of "
                "memory or restarted). It will not be retried; try a smaller input or contact the operator."
            )
            if still_stale.update(status=Job.Status.FAILED, error=error, message="Failed", finished_at=now):
                _job_settle(job_id=job.pk, error=error)
                done["failed"].append(job.pk)
        elif still_stale.update(status=Job.Status.QUEUED, message="Re-queued: its worker stopped responding"):
            name, queue = JOB_TASKS[job.kind]
            send(name, [job.pk], queue)
            done["requeued"].append(job.pk)
    if any(done.values()):
        logger.warning("job sweep: %s", done)
    return done
