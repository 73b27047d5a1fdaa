"""Ingest: parse an upload in chunks, scrub personal data, infer types, profile, write canonical Parquet.

Passes over the raw file (it is read, never loaded whole, so memory is bounded by the chunk size):
1. classify columns on a sample and as they first have values, store the chunks and collect their identifier values
   (`Scrubber.fit`, `observe_columns`, `collect_known`),
2. scrub the chunks and gather them in order into a string Parquet, narrowing column types as it goes. For large
   uploads other `cpu` workers (`scrub_chunks_task`) collect and scrub chunks too, through the store and claims in
   the database (`marketplace.services.ingest_chunks`),
3. cast the scrubbed strings to the inferred types, profile them and write the canonical Parquet.
Everything lands under `versions/<version>/job-<job>/`, so a re-run after a killed worker starts clean and the
version only points at its outputs once they are complete.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from marketplace.dataio import (
    ColumnProfiler,
    IngestLimits,
    ParseError,
    TypeInference,
    arrow_schema,
    cast_chunk,
    coerce_frame,
    iter_chunks,
    preview_rows,
)
from marketplace.job_errors import JobInputError
from marketplace.models import DatasetVersion, IngestChunk, Job
from marketplace.pii import Scrubber, ScrubPolicy
from marketplace.services import ingest_chunks
from marketplace.services.jobs import CANCELLED_ERROR, JobOutcome, Progress, job_run

logger = logging.getLogger(__name__)

SAMPLE_ROWS = 2_000


def ingest_limits() -> IngestLimits:
    """The bounds every upload is read within (see `IngestLimits`), from the settings."""
    return IngestLimits(
        max_columns=settings.TESSERA_INGEST_MAX_COLUMNS,
        max_cell_chars=settings.TESSERA_INGEST_MAX_CELL_CHARS,
        max_rows_per_byte=settings.TESSERA_INGEST_MAX_ROWS_PER_BYTE,
        min_rows_cap=settings.TESSERA_INGEST_MIN_ROWS_CAP,
    )


def _chunks(version: DatasetVersion, on_bytes: Callable[[float], None] | None = None) -> Iterator[pd.DataFrame]:
    with default_storage.open(version.raw_path, "rb") as handle:
        total = max(version.size_bytes, 1)
        for chunk in iter_chunks(handle, version.source_format, settings.TESSERA_INGEST_CHUNK_ROWS, ingest_limits()):
            if on_bytes is not None:
                try:
                    on_bytes(min(handle.tell() / total, 1.0))
                except (OSError, ValueError):
                    pass
            yield chunk


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def version_ingest(*, job_id: int) -> DatasetVersion | None:
    """Run the ingest job `job_id` through the job runner; safe to deliver twice (the second delivery finds the job
    finished, or held and comes back later). The raw upload is deleted once the job has ended, unless kept."""
    version = DatasetVersion.objects.select_related("dataset").filter(job_id=job_id).first()
    if version is None:
        return None

    def run(job: Job, progress: Progress) -> JobOutcome:
        if version.status != DatasetVersion.Status.READY:  # a redelivery after the version was saved keeps it
            workdir = Path(tempfile.mkdtemp(prefix=f"ingest-{job.pk}-", dir=settings.FILE_UPLOAD_TEMP_DIR))
            try:
                outputs = _run_ingest(version=version, job=job, workdir=workdir, report=progress)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            workers, seconds = outputs.pop("chunk_workers"), outputs.pop("seconds")
            for key, value in outputs.items():
                setattr(version, key, value)
            version.status, version.error, version.ready_at = DatasetVersion.Status.READY, "", timezone.now()
            version.save()
        else:
            workers, seconds = job.result.get("chunk_workers", {}), job.result.get("seconds", {})
        # How the work went: which workers collected and scrubbed how many chunks, and each pass's seconds (read,
        # scrub, gather in order, type and store), for operators and `bench_ingest`.
        result = {"version": version.pk, "chunk_workers": workers, "seconds": seconds}
        return JobOutcome(f"Ready: {version.row_count} rows scrubbed", result)

    def on_stop(job: Job, error: str) -> None:
        version_settle_failed(job=job, error=error or CANCELLED_ERROR)

    job = job_run(job_id=job_id, run=run, on_stop=on_stop)
    if job is None:  # finished or cancelled before this delivery; job_run settled a cancelled version
        return None
    version.refresh_from_db()
    # Nothing half-written stays visible, and the raw upload is not kept unless the provider asked to.
    _delete_raw(version)
    return version


def _run_ingest(*, version: DatasetVersion, job: Job, workdir: Path, report: Callable[[float, str], None]) -> dict:
    policy = ScrubPolicy.from_dict(version.pii_policy or {})
    scrubber = Scrubber(
        policy=policy,
        salt=version.dataset.pii_salt.encode(),
        chunk_time_budget_s=settings.TESSERA_INGEST_CHUNK_TIME_S or None,
    )

    # Pass 1: classify on a sample, store the chunks (as Parquet, through the store, so that workers on other hosts
    # can take them; a re-run starts clean) and collect their identifier values for propagation into free text.
    # Each column is decided as it first has values, in file order; the identifiers of a chunk are collected here
    # until helpers are sent, then by whichever worker claims the chunk, and merged in chunk order.
    report(0.02, "Reading the file")
    clock = {"started": time.perf_counter()}
    ingest_chunks.chunks_clear(job=job)
    sample, names, helpers = None, [], 0
    decisions, decisions_name, snapshots = b"", "", 0
    stale_after = settings.TESSERA_INGEST_STALE_CHUNK_S
    for chunk in _chunks(version, lambda f: report(0.02 + 0.18 * f, "Detecting personal data")):
        if sample is None:
            sample = chunk.head(SAMPLE_ROWS)
            scrubber.fit(sample)
        index = len(names)
        names.append(ingest_chunks.chunk_put(job=job, index=index, frame=chunk))
        scrubber.observe_columns(chunk)
        if not helpers:
            scrubber.absorb_known(scrubber.collect_known(chunk))
            helpers = _send_helpers(job, chunks=len(names))
            continue
        if (now := pickle.dumps((scrubber.decisions, scrubber.actions))) != decisions:  # a column was decided
            snapshots += 1
            decisions = now
            decisions_name = ingest_chunks.decisions_put(job=job, scrubber=scrubber, number=snapshots)
        ingest_chunks.chunk_collect_open(job=job, index=index, name=names[-1], decisions_name=decisions_name)
        helpers += _send_helpers(job, chunks=len(names), sent=helpers)
        if ingest_chunks.chunks_waiting(job=job) > 1:  # the helpers are behind: collect one here as well
            ingest_chunks.chunks_work(job_id=job.pk, stale_after=stale_after, max_chunks=1, scrubber=scrubber)
    if sample is None or sample.empty:
        raise ParseError("The file has no data rows.")
    count = len(names)
    while True:
        total, collected = ingest_chunks.chunks_collected(job=job)
        if collected >= total:
            break
        report(0.2, f"Collecting identifiers (chunk {collected + 1} of {total})")
        if not ingest_chunks.chunks_work(job_id=job.pk, stale_after=stale_after, max_chunks=1, scrubber=scrubber):
            time.sleep(0.2)  # the chunks left are being collected by other workers
    for known in ingest_chunks.chunks_known(job=job):
        scrubber.absorb_known(known)
    collectors = ingest_chunks.chunks_workers(job=job, stage=IngestChunk.Stage.COLLECT)
    clock["read"] = time.perf_counter()

    # Pass 2: scrub the chunks, here and, for large uploads, in the other `cpu` workers at the same time, every one
    # with the same fitted scrubber; then gather them in order into a string Parquet, narrowing each column's type.
    ingest_chunks.chunks_open(job=job, scrubber=scrubber, names=names)
    while (done := ingest_chunks.chunks_done(job=job)) < count:
        if (reason := ingest_chunks.chunks_failure(job=job)) is not None:  # another worker found the input at fault
            raise JobInputError(reason)
        report(0.2 + 0.6 * done / count, f"Scrubbing personal data (chunk {done + 1} of {count})")
        scrubbed = ingest_chunks.chunks_work(job_id=job.pk, stale_after=stale_after, max_chunks=1, scrubber=scrubber)
        if not scrubbed:
            time.sleep(0.2)  # the chunks left are being scrubbed by other workers
    clock["scrubbed"] = time.perf_counter()
    scrubber.release_known()
    scrubbed_path = workdir / "scrubbed.parquet"
    inference = TypeInference()
    writer: pq.ParquetWriter | None = None
    columns: list[str] | None = None
    try:
        for index in range(count):
            out, state = ingest_chunks.chunk_output(job=job, index=index)
            scrubber.absorb(state)
            if columns is None:
                columns = list(out.columns)
            out = out.reindex(columns=columns)
            inference.update(out)
            table = pa.Table.from_pandas(
                out, schema=pa.schema([(c, pa.string()) for c in columns]), preserve_index=False
            )
            if writer is None:
                writer = pq.ParquetWriter(scrubbed_path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    workers = {"collect": collectors, "scrub": ingest_chunks.chunks_workers(job=job)}
    ingest_chunks.chunks_clear(job=job)
    assert columns is not None
    pii_report = scrubber.report().to_dict()
    clock["gathered"] = time.perf_counter()

    # Pass 3: cast, profile and write the canonical Parquet.
    report(0.82, "Profiling columns")
    outputs = version_store_strings(
        version=version, job=job, strings_path=scrubbed_path, columns=columns, types=inference.types(), workdir=workdir
    )
    report(0.95, "Saved")
    clock["stored"] = time.perf_counter()
    seconds = {
        phase: round(clock[end] - clock[start], 2)
        for phase, start, end in (
            ("read", "started", "read"),
            ("scrub", "read", "scrubbed"),
            ("gather", "scrubbed", "gathered"),
            ("store", "gathered", "stored"),
        )
    }
    return {**outputs, "pii_report": pii_report, "chunk_workers": workers, "seconds": seconds}


def _send_helpers(job: Job, *, chunks: int, sent: int = 0) -> int:
    """Ask other `cpu` workers to help with a large upload once it is known to be large: up to
    TESSERA_INGEST_FANOUT helpers, never more than the chunks read so far minus one; returns how many were sent."""
    if chunks < settings.TESSERA_INGEST_FANOUT_MIN_CHUNKS:
        return 0
    more = min(settings.TESSERA_INGEST_FANOUT, chunks - 1) - sent
    if more > 0:
        from marketplace.tasks import scrub_chunks_task

        for _ in range(more):
            scrub_chunks_task.delay(job.pk)
    return max(more, 0)


def version_store_strings(
    *,
    version: DatasetVersion,
    job: Job,
    strings_path: Path,
    columns: list[str],
    types: dict[str, str],
    workdir: Path,
) -> dict:
    """Cast a Parquet of string columns to `types`, profile it and store it as the version's canonical Parquet.

    Returns the version fields to set: data_path, row_count, schema (profile), preview, sha256. Used by ingest and
    by every service that produces a version (synthesis)."""
    source = pq.ParquetFile(strings_path)

    def typed_batches() -> Iterator[pd.DataFrame]:
        for batch in source.iter_batches(batch_size=settings.TESSERA_INGEST_CHUNK_ROWS):
            frame = batch.to_pandas().astype(object)
            frame = frame.where(pd.notna(frame), None)
            try:
                yield cast_chunk(frame, types)
            except (ValueError, TypeError) as exc:
                raise ParseError(f"A value does not match its column's type: {exc}") from exc

    return _store_typed(
        version=version, job=job, batches=typed_batches(), columns=columns, types=types, workdir=workdir
    )


def version_store_frame(
    *, version: DatasetVersion, job: Job, frame: pd.DataFrame, types: dict[str, str], workdir: Path
) -> dict:
    """Store a typed frame (a synthesizer's output) as the version's canonical Parquet in the dtypes of `types`
    (the source's schema), profiled as ingest profiles; returns the same fields as `version_store_strings`."""
    columns = [str(c) for c in frame.columns]
    rows = settings.TESSERA_INGEST_CHUNK_ROWS
    batches = (coerce_frame(frame.iloc[start : start + rows], types) for start in range(0, len(frame), rows))
    return _store_typed(version=version, job=job, batches=batches, columns=columns, types=types, workdir=workdir)


def _store_typed(
    *,
    version: DatasetVersion,
    job: Job,
    batches: Iterable[pd.DataFrame],
    columns: list[str],
    types: dict[str, str],
    workdir: Path,
) -> dict:
    types = {column: types.get(column, "string") for column in columns}
    schema = arrow_schema(types, columns)
    profiler = ColumnProfiler(types=types)
    final_path = workdir / "data.parquet"
    preview = None
    with pq.ParquetWriter(final_path, schema) as final_writer:
        for typed in batches:
            profiler.update(typed)
            if preview is None:
                preview = preview_rows(typed)
            final_writer.write_table(pa.Table.from_pandas(typed, schema=schema, preserve_index=False))

    data_name = f"versions/{version.pk}/job-{job.pk}/data.parquet"
    if default_storage.exists(data_name):
        default_storage.delete(data_name)
    with open(final_path, "rb") as handle:
        data_name = default_storage.save(data_name, File(handle))
    return {
        "data_path": data_name,
        "row_count": profiler.rows,
        "schema": profiler.profile(),
        "preview": preview or {"columns": columns, "rows": []},
        "sha256": _sha256(final_path),
    }


def version_settle_failed(*, job: Job, error: str) -> None:
    """The version of an ingest job that ended failed or cancelled: its half-written output and raw upload removed
    (unless kept for re-scrubbing), and the reason on the version."""
    version = DatasetVersion.objects.filter(job=job, status=DatasetVersion.Status.PROCESSING).first()
    ingest_chunks.chunks_clear(job=job)
    if version is not None:
        _cleanup_outputs(version=version, job=job)
        version.status, version.error = DatasetVersion.Status.FAILED, error
        version.save(update_fields=["status", "error"])
        _delete_raw(version)


def _cleanup_outputs(*, version: DatasetVersion, job: Job) -> None:
    name = f"versions/{version.pk}/job-{job.pk}/data.parquet"
    if default_storage.exists(name):
        default_storage.delete(name)


def _delete_raw(version: DatasetVersion) -> None:
    if version.keep_raw or not version.raw_path:
        return
    if default_storage.exists(version.raw_path):
        default_storage.delete(version.raw_path)
    DatasetVersion.objects.filter(pk=version.pk).update(raw_path="")
    version.raw_path = ""
