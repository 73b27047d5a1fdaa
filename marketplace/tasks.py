"""Celery tasks: thin wrappers that take primary keys (or an ingest's chunk folder) and call a service."""

from pathlib import Path

from celery import shared_task
from django.conf import settings

from marketplace.pii import chunks
from marketplace.services.ingest import version_ingest


@shared_task(queue="cpu", acks_late=True, reject_on_worker_lost=True)
def version_ingest_task(job_id: int) -> None:
    version_ingest(job_id=job_id)


@shared_task(queue="cpu", acks_late=True, reject_on_worker_lost=True)
def scrub_chunks_task(folder: str) -> int:
    """Help an ingest: scrub its waiting chunks with its fitted scrubber until none is left."""
    return chunks.work(Path(folder), stale_after=settings.TESSERA_INGEST_STALE_CHUNK_S)
