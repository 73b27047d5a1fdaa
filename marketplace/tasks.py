"""Celery tasks: thin wrappers that take primary keys and call a service."""

from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from marketplace.celery import app
from marketplace.job_errors import JobInputError
from marketplace.services.billing import billing_run, license_expiries_announce, previous_period
from marketplace.services.ingest import version_ingest
from marketplace.services.ingest_chunks import chunks_work
from marketplace.services.jobs import JobHeld, job_sweep
from marketplace.services.webhooks import webhook_deliver

# Retries of a delivery that found its job held by a live worker, one per heartbeat timeout; the sweep covers a
# holder that dies after these run out.
JOB_TASK_OPTIONS: dict[str, Any] = {"bind": True, "acks_late": True, "reject_on_worker_lost": True, "max_retries": 100}


def job_task_run(task: Task, service: Callable[..., Any], job_id: int) -> None:
    """Run a job service; a job held by another worker is retried once that worker's heartbeat could expire."""
    try:
        service(job_id=job_id)
    except JobHeld as held:
        raise task.retry(countdown=held.retry_in_s) from held


@shared_task(queue="cpu", **JOB_TASK_OPTIONS)
def version_ingest_task(self: Task, job_id: int) -> None:
    job_task_run(self, version_ingest, job_id)


@shared_task(bind=True, queue="cpu", acks_late=True, reject_on_worker_lost=True)
def scrub_chunks_task(self: Task, job_id: int) -> int:
    """Help ingest job `job_id`: collect the identifiers of its chunks, then scrub them (from the store), until the
    scrub has none left. A chunk whose input is at fault (over its time budget) is marked failed, and the ingest job
    fails the version with its reason. Run eagerly (tests), a helper runs inside the ingest's own call, so it takes
    what is there and never waits for more."""
    try:
        return chunks_work(
            job_id=job_id, stale_after=settings.TESSERA_INGEST_STALE_CHUNK_S, wait=not self.request.is_eager
        )
    except JobInputError:
        return 0


@shared_task(queue="cpu")
def jobs_sweep_task() -> dict[str, list[int]]:
    """Periodic (Celery beat): re-queue jobs whose worker went silent, fail those out of attempts."""
    return job_sweep(send=lambda name, args, queue: app.send_task(name, args=args, queue=queue))


@shared_task(queue="cpu", acks_late=True)
def webhook_deliver_task(delivery_id: int) -> None:
    """One attempt to deliver a webhook event; a failed one queues the next with exponential backoff."""
    webhook_deliver(delivery_id=delivery_id)


@shared_task(queue="cpu")
def billing_run_task(period: str | None = None) -> dict[str, Any]:
    """Periodic (Celery beat, daily): bill last month's metered usage; repeated runs bill only what is left."""
    return billing_run(period=period or previous_period()).to_dict()


@shared_task(queue="cpu")
def license_expiries_task() -> list[int]:
    """Periodic (Celery beat): announce the licences whose term ran out (webhook `license.expired`), once each."""
    return license_expiries_announce()
