"""The chunks of one ingest's scrub, shared through the store and claimed in the database, so that `cpu` workers on
any host scrub them with the same fitted scrubber: a worker needs the database, the broker and the store, and no
folder shared with the others.

    store  ingest/job-<id>/scrubber.pkl                  the fitted scrubber: column decisions and known identifiers
           ingest/job-<id>/chunk-000007.parquet          chunk 7's cells (strings)
           ingest/job-<id>/out-000007-<claim>.parquet    its scrubbed cells, written by the claim's holder
           ingest/job-<id>/out-000007-<claim>.pkl        its counts for the report
    db     IngestChunk(job, index 7, status, claim, claimed_at, worker)

A chunk is claimed by a conditional update (`waiting`, or `claimed` longer than `stale_after` seconds ago because
its worker died, becomes `claimed` with a new token), so no chunk is scrubbed twice at once; it becomes `done` only
through the token that claimed it, so a worker presumed dead that wakes up later finds its claim gone and deletes
what it wrote. The coordinator (the ingest job) claims chunks too, so the scrub ends even when no other worker is
free. A chunk whose input is at fault (over its time budget) is marked `failed` with the reason, and every worker
stops claiming that scrub's chunks.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from marketplace.job_errors import JobInputError
from marketplace.models import IngestChunk, Job
from marketplace.pii import Scrubber
from marketplace.pii import chunks as codec
from marketplace.services.datasets import storage_is_local

Status = IngestChunk.Status


def _prefix(job_id: int) -> str:
    return f"ingest/job-{job_id}"


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _put(name: str, data: bytes) -> str:
    """Save `data` under `name` (the store may choose another name if one is taken: the saved one is returned)."""
    return default_storage.save(name, ContentFile(data))


def _get(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _delete(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        default_storage.delete(name)


def _output_names(job_id: int, index: int, claim: str) -> tuple[str, str]:
    stem = f"{_prefix(job_id)}/out-{index:06d}-{claim}"
    return f"{stem}.parquet", f"{stem}.pkl"


def chunks_clear(*, job: Job) -> None:
    """Remove every chunk of `job`'s scrub: its rows and its objects (a re-run starts clean; a finished one leaves
    nothing behind). A worker still holding a claim finds it gone and deletes what it writes."""
    IngestChunk.objects.filter(job=job).delete()
    prefix = _prefix(job.pk)
    try:
        _, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        files = []
    for name in files:
        _delete(f"{prefix}/{name}")
    if storage_is_local():
        with contextlib.suppress(OSError):
            Path(default_storage.path(prefix)).rmdir()


def chunk_put(*, job: Job, index: int, frame: pd.DataFrame) -> str:
    """Store chunk number `index` (string cells or None) for the scrub; returns its name in the store."""
    return _put(f"{_prefix(job.pk)}/chunk-{index:06d}.parquet", codec.frame_bytes(frame))


def chunks_open(*, job: Job, scrubber: Scrubber, names: list[str]) -> None:
    """Publish the fitted scrubber and make the stored chunks `names` (in order) claimable."""
    scrubber_name = _put(f"{_prefix(job.pk)}/scrubber.pkl", codec.scrubber_bytes(scrubber))
    IngestChunk.objects.bulk_create(
        IngestChunk(job=job, index=index, source_name=name, scrubber_name=scrubber_name)
        for index, name in enumerate(names)
    )


def _claimable(stale_after: float) -> Q:
    stale_before = timezone.now() - timedelta(seconds=stale_after)
    return Q(status=Status.WAITING) | Q(status=Status.CLAIMED, claimed_at__lt=stale_before)


def chunk_claim(*, job_id: int, stale_after: float) -> IngestChunk | None:
    """Take the next waiting chunk of the scrub, or one whose worker is presumed dead; None when nothing is left
    (or a chunk of this scrub failed)."""
    while True:
        if IngestChunk.objects.filter(job_id=job_id, status=Status.FAILED).exists():
            return None
        candidates = list(
            IngestChunk.objects.filter(_claimable(stale_after), job_id=job_id)
            .order_by("index")
            .values_list("pk", flat=True)[:8]
        )
        if not candidates:
            return None
        for pk in candidates:
            token = uuid.uuid4().hex
            taken = IngestChunk.objects.filter(_claimable(stale_after), pk=pk).update(
                status=Status.CLAIMED, claim=token, claimed_at=timezone.now(), worker=_worker_name()
            )
            if taken:
                return IngestChunk.objects.get(pk=pk)
        # every candidate went to another worker between the read and the update: look again


def chunks_work(
    *, job_id: int, stale_after: float = 600.0, max_chunks: int | None = None, scrubber: Scrubber | None = None
) -> int:
    """Scrub waiting chunks of `job_id`'s scrub until none is left (or `max_chunks` are done); returns how many
    this call scrubbed. `scrubber` is the published one when the caller holds it (the coordinator); otherwise it
    is read from the store on the first claim. A chunk whose input is at fault is marked failed and the
    JobInputError raised. Returns quietly when the scrub was cleared (the ingest ended) under it."""
    done = 0
    while max_chunks is None or done < max_chunks:
        chunk = chunk_claim(job_id=job_id, stale_after=stale_after)
        if chunk is None:
            break
        try:
            if scrubber is None:
                scrubber = codec.scrubber_from_bytes(_get(chunk.scrubber_name))
            cells = codec.frame_from_bytes(_get(chunk.source_name))
        except FileNotFoundError:
            if IngestChunk.objects.filter(pk=chunk.pk).exists():
                raise
            break  # the ingest ended and cleared its chunks
        try:
            out, state = scrubber.transform_chunk(cells)
        except JobInputError as exc:  # no other worker would do better: every worker learns to stop
            IngestChunk.objects.filter(pk=chunk.pk, claim=chunk.claim).update(status=Status.FAILED, error=str(exc))
            raise
        out_name, state_name = _output_names(job_id, chunk.index, chunk.claim)
        written = [_put(out_name, codec.frame_bytes(out)), _put(state_name, codec.state_bytes(state))]
        if written != [out_name, state_name]:  # the claim token makes the names new: a store that renamed them
            for name in written:  # would leave the reader looking for objects that are not there
                _delete(name)
            raise RuntimeError(f"The store saved chunk {chunk.index}'s output under other names: {written}")
        marked = IngestChunk.objects.filter(pk=chunk.pk, claim=chunk.claim, status=Status.CLAIMED).update(
            status=Status.DONE
        )
        if not marked:  # presumed dead and taken over, or the scrub was cleared: this copy is not the one read
            for name in written:
                _delete(name)
            continue
        done += 1
    return done


def chunks_failure(*, job: Job) -> str | None:
    """Why a chunk of this scrub could not be scrubbed, once a worker has found out; None while all is well."""
    return IngestChunk.objects.filter(job=job, status=Status.FAILED).values_list("error", flat=True).first()


def chunks_done(*, job: Job) -> int:
    return IngestChunk.objects.filter(job=job, status=Status.DONE).count()


def chunk_output(*, job: Job, index: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The scrubbed cells and the report counts of chunk `index` (done)."""
    chunk = IngestChunk.objects.get(job=job, index=index, status=Status.DONE)
    out_name, state_name = _output_names(job.pk, index, chunk.claim)
    return codec.frame_from_bytes(_get(out_name)), codec.state_from_bytes(_get(state_name))


def chunks_workers(*, job: Job) -> dict[str, int]:
    """How many chunks each worker (host:pid) scrubbed, for the job's result."""
    done = IngestChunk.objects.filter(job=job, status=Status.DONE).values_list("worker", flat=True)
    return dict(Counter(done).most_common())
