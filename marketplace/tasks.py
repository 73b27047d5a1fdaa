"""Celery tasks: thin wrappers that take primary keys and call a service."""

from celery import shared_task

from marketplace.services.ingest import version_ingest


@shared_task(queue="cpu", acks_late=True, reject_on_worker_lost=True)
def version_ingest_task(job_id: int) -> None:
    version_ingest(job_id=job_id)
