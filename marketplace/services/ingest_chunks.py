"""The chunks of one ingest, shared through the store and claimed in the database, so that `cpu` workers on any host
share both of its passes over the data: collecting the identifiers of every chunk (so that they are found again in
the free text of every other chunk), then scrubbing. A worker needs the database, the broker and the store, and no
folder shared with the others.

    store  ingest/job-<id>/chunk-000007.parquet          chunk 7's cells (strings)
           ingest/job-<id>/decisions-0001.pkl            the scrubber's column decisions as the file was read so far
           ingest/job-<id>/known-000007-<claim>.pkl      the identifiers collected from chunk 7
           ingest/job-<id>/scrubber.pkl                  the fitted scrubber: decisions and every identifier
           ingest/job-<id>/out-000007-<claim>.parquet    chunk 7's scrubbed cells
           ingest/job-<id>/out-000007-<claim>.pkl        its counts for the report
    db     IngestChunk(job, index 7, stage collect|scrub, status, claim, claimed_at, worker)

The ingest job reads the file once, in order, deciding each column as it first has values; a chunk's identifiers can
then be collected anywhere, because no later decision concerns a column that has values in it. The collected
identifiers are merged in chunk order (the same as one pass), the full scrubber is published, and every chunk moves
to the scrub stage. Chunks read before any helper was sent are collected by the ingest job as it reads.

A chunk is claimed by a conditional update (`waiting`, or `claimed` longer than `stale_after` seconds ago because
its worker died, becomes `claimed` with a new token), so no chunk is worked on twice at once; it becomes `done` only
through the token that claimed it, so a worker presumed dead that wakes up later finds its claim gone and deletes
what it wrote. The ingest job claims chunks too, so the work ends even when no other worker is free. A chunk whose
input is at fault (over its time budget) is marked `failed` with the reason, and every worker stops.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
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
from marketplace.pii.text import KnownIdentifiers
from marketplace.services.datasets import storage_is_local

Status, Stage = IngestChunk.Status, IngestChunk.Stage


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


def _known_name(job_id: int, index: int, claim: str) -> str:
    return f"{_prefix(job_id)}/known-{index:06d}-{claim}.pkl"


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


def decisions_put(*, job: Job, scrubber: Scrubber, number: int) -> str:
    """Publish the scrubber's column decisions as they stand (number `number`), for collecting the chunks read
    since; returns the name in the store."""
    return _put(f"{_prefix(job.pk)}/decisions-{number:04d}.pkl", codec.pickled(scrubber))


def chunk_collect_open(*, job: Job, index: int, name: str, decisions_name: str) -> None:
    """Make stored chunk `index` claimable for collecting its identifiers with the decisions `decisions_name`."""
    IngestChunk.objects.create(
        job=job, index=index, stage=Stage.COLLECT, source_name=name, scrubber_name=decisions_name
    )


def chunks_waiting(*, job: Job) -> int:
    return IngestChunk.objects.filter(job=job, status=Status.WAITING).count()


def chunks_collected(*, job: Job) -> tuple[int, int]:
    """How many chunks are in the collect stage, and how many of them are collected."""
    rows = IngestChunk.objects.filter(job=job, stage=Stage.COLLECT)
    return rows.count(), rows.filter(status=Status.DONE).count()


def chunks_known(*, job: Job) -> Iterator[KnownIdentifiers]:
    """The identifiers collected from each chunk of the collect stage, in chunk order (merge them in this order)."""
    for index, claim in (
        IngestChunk.objects.filter(job=job, stage=Stage.COLLECT, status=Status.DONE)
        .order_by("index")
        .values_list("index", "claim")
    ):
        yield codec.unpickled(_get(_known_name(job.pk, index, claim)))


def chunks_open(*, job: Job, scrubber: Scrubber, names: list[str]) -> None:
    """Publish the fitted scrubber (decisions and every identifier) and make every stored chunk `names` (in order)
    claimable for scrubbing: the chunks collected by workers move on to the scrub stage, the others get rows."""
    scrubber_name = _put(f"{_prefix(job.pk)}/scrubber.pkl", codec.pickled(scrubber))
    rows = IngestChunk.objects.filter(job=job)
    rows.update(stage=Stage.SCRUB, status=Status.WAITING, claim="", claimed_at=None, scrubber_name=scrubber_name)
    have = set(rows.values_list("index", flat=True))
    IngestChunk.objects.bulk_create(
        IngestChunk(job=job, index=index, stage=Stage.SCRUB, source_name=name, scrubber_name=scrubber_name)
        for index, name in enumerate(names)
        if index not in have
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
    *,
    job_id: int,
    stale_after: float = 600.0,
    max_chunks: int | None = None,
    scrubber: Scrubber | None = None,
    wait: bool = False,
) -> int:
    """Work on claimable chunks of `job_id`'s ingest, collecting or scrubbing as each chunk's stage asks, until the
    scrub has no chunk left to take (or `max_chunks` are done); returns how many this call did.

    `scrubber` is the ingest job's own (the coordinator, which passes `max_chunks` and waits itself); a helper reads
    the published ones from the store and, with `wait`, waits while the ingest is still reading or merging, as long
    as the job runs and something moved within `stale_after` seconds. A chunk whose input is at fault is marked
    failed and the JobInputError raised. Returns quietly when the ingest was cleared (it ended) under it."""
    done = 0
    published: dict[str, Scrubber] = {}
    idle_since = time.monotonic()
    while max_chunks is None or done < max_chunks:
        chunk = chunk_claim(job_id=job_id, stale_after=stale_after)
        if chunk is None:
            if not wait or not _helper_should_wait(job_id, idle_since, stale_after):
                break
            time.sleep(0.2)
            continue
        try:
            if scrubber is not None:
                own = scrubber
            elif chunk.scrubber_name in published:
                own = published[chunk.scrubber_name]
            else:
                own = published[chunk.scrubber_name] = codec.unpickled(_get(chunk.scrubber_name))
            cells = codec.frame_from_bytes(_get(chunk.source_name))
        except FileNotFoundError:
            if IngestChunk.objects.filter(pk=chunk.pk).exists():
                raise
            break  # the ingest ended and cleared its chunks
        if chunk.stage == Stage.COLLECT:
            written = [_put(_known_name(job_id, chunk.index, chunk.claim), codec.pickled(own.collect_known(cells)))]
            expected = [_known_name(job_id, chunk.index, chunk.claim)]
        else:
            try:
                out, state = own.transform_chunk(cells)
            except JobInputError as exc:  # no other worker would do better: every worker learns to stop
                IngestChunk.objects.filter(pk=chunk.pk, claim=chunk.claim).update(status=Status.FAILED, error=str(exc))
                raise
            expected = list(_output_names(job_id, chunk.index, chunk.claim))
            written = [_put(expected[0], codec.frame_bytes(out)), _put(expected[1], codec.pickled(state))]
        if written != expected:  # the claim token makes the names new: a store that renamed them would leave the
            for name in written:  # reader looking for objects that are not there
                _delete(name)
            raise RuntimeError(f"The store saved chunk {chunk.index}'s output under other names: {written}")
        marked = IngestChunk.objects.filter(
            pk=chunk.pk, claim=chunk.claim, stage=chunk.stage, status=Status.CLAIMED
        ).update(status=Status.DONE)
        if not marked:  # presumed dead and taken over, or the scrub was cleared: this copy is not the one read
            for name in written:
                _delete(name)
            continue
        done += 1
        idle_since = time.monotonic()
    return done


def _helper_should_wait(job_id: int, idle_since: float, stale_after: float) -> bool:
    """Whether a helper with nothing to claim should wait for more: while the ingest job runs and is still reading
    or merging (chunks in the collect stage, or none yet), and something moved within `stale_after` seconds."""
    if time.monotonic() - idle_since > stale_after:
        return False
    if not Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).exists():
        return False
    rows = IngestChunk.objects.filter(job_id=job_id)
    return not rows.exists() or rows.filter(stage=Stage.COLLECT).exists()


def chunks_failure(*, job: Job) -> str | None:
    """Why a chunk of this scrub could not be scrubbed, once a worker has found out; None while all is well."""
    return IngestChunk.objects.filter(job=job, status=Status.FAILED).values_list("error", flat=True).first()


def chunks_done(*, job: Job) -> int:
    """How many chunks are scrubbed."""
    return IngestChunk.objects.filter(job=job, stage=Stage.SCRUB, status=Status.DONE).count()


def chunk_output(*, job: Job, index: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The scrubbed cells and the report counts of chunk `index` (done)."""
    chunk = IngestChunk.objects.get(job=job, index=index, stage=Stage.SCRUB, status=Status.DONE)
    out_name, state_name = _output_names(job.pk, index, chunk.claim)
    return codec.frame_from_bytes(_get(out_name)), codec.unpickled(_get(state_name))


def chunks_workers(*, job: Job, stage: str = Stage.SCRUB) -> dict[str, int]:
    """How many chunks each worker (host:pid) scrubbed (or collected), for the job's result."""
    done = IngestChunk.objects.filter(job=job, stage=stage, status=Status.DONE).values_list("worker", flat=True)
    return dict(Counter(done).most_common())
