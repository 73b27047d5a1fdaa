"""The chunks of one scrub, shared through a folder so that several workers scrub them with the same fitted scrubber.

    folder/scrubber.pkl          the fitted scrubber: column decisions and known identifiers, made once up front
    folder/chunk-000007.parquet  a chunk waiting to be scrubbed (string cells)
    folder/chunk-000007.claimed  a chunk that a worker is scrubbing
    folder/out-000007.parquet    its scrubbed cells
    folder/out-000007.pkl        its counts for the report, written last: the chunk is done
    folder/failed.txt            why a chunk cannot be scrubbed (its input is at fault): the whole scrub fails

A worker claims a chunk by renaming it (atomic on one file system), so no chunk is scrubbed twice at once. The
coordinator (the ingest task) claims chunks as well, so the work ends even when no other worker is free; a chunk
claimed longer than `stale_after` seconds ago (its worker died) is put back for another worker to take.
Nothing here knows about Django or Celery: the ingest service writes the folder and sends the tasks.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marketplace.job_errors import JobInputError
from marketplace.pii.engine import Scrubber

STATE = "scrubber.pkl"
FAILED = "failed.txt"


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    tmp.replace(path)


def _write_frame(path: Path, frame: pd.DataFrame) -> None:
    columns = [str(c) for c in frame.columns]
    table = pa.Table.from_pandas(
        frame.set_axis(columns, axis=1), schema=pa.schema([(c, pa.string()) for c in columns]), preserve_index=False
    )
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def _read_frame(path: Path) -> pd.DataFrame:
    frame = pq.read_table(path).to_pandas().astype(object)
    return frame.where(pd.notna(frame), None)


def add_chunk(folder: Path, index: int, chunk: pd.DataFrame) -> None:
    """Queue chunk number `index` (string cells or None)."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_frame(folder / f"chunk-{index:06d}.parquet", chunk)


def publish_scrubber(folder: Path, scrubber: Scrubber) -> None:
    """Make the fitted scrubber available to workers; no chunk is claimed before this."""
    _atomic_write(folder / STATE, lambda tmp: tmp.write_bytes(pickle.dumps(scrubber, protocol=5)))


def claim(folder: Path, *, stale_after: float) -> int | None:
    """Take the next waiting chunk, or put back one whose worker is presumed dead; None when nothing is left."""
    if not (folder / STATE).exists() or (folder / FAILED).exists():
        return None
    now = time.time()
    for claimed in folder.glob("chunk-*.claimed"):
        with contextlib.suppress(FileNotFoundError):
            if now - claimed.stat().st_mtime > stale_after:
                claimed.rename(claimed.with_suffix(".parquet"))
    for waiting in sorted(folder.glob("chunk-*.parquet")):
        target = waiting.with_suffix(".claimed")
        try:
            waiting.rename(target)
        except FileNotFoundError:  # another worker took it first
            continue
        os.utime(target)  # the claim's age counts from now
        return int(waiting.stem.split("-")[1])
    return None


def work(
    folder: Path, *, stale_after: float = 600.0, max_chunks: int | None = None, scrubber: Scrubber | None = None
) -> int:
    """Scrub waiting chunks until none is left (or `max_chunks` are done); returns how many this call scrubbed.

    `scrubber` is the published one when the caller holds it already (the coordinator); otherwise it is read from
    the folder on the first claim. Returns quietly when the folder disappears (the ingest was cancelled or failed
    and cleaned up)."""
    done = 0
    try:
        while max_chunks is None or done < max_chunks:
            index = claim(folder, stale_after=stale_after)
            if index is None:
                break
            if scrubber is None:
                scrubber = pickle.loads((folder / STATE).read_bytes())
            claimed = folder / f"chunk-{index:06d}.claimed"
            try:
                out, state = scrubber.transform_chunk(_read_frame(claimed))
            except JobInputError as exc:  # no other worker would do better: every worker learns to stop
                _atomic_write(folder / FAILED, lambda tmp, m=str(exc): tmp.write_text(m, encoding="utf-8"))
                raise
            _write_frame(folder / f"out-{index:06d}.parquet", out)
            _atomic_write(folder / f"out-{index:06d}.pkl", lambda tmp, s=state: tmp.write_bytes(pickle.dumps(s)))
            claimed.unlink(missing_ok=True)
            done += 1
    except FileNotFoundError:
        if folder.exists():
            raise
    return done


def failure(folder: Path) -> str | None:
    """Why a chunk of this scrub could not be scrubbed, once a worker has found out; None while all is well."""
    try:
        return (folder / FAILED).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def finished(folder: Path) -> set[int]:
    return {int(path.stem.split("-")[1]) for path in folder.glob("out-*.pkl")}


def output(folder: Path, index: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The scrubbed cells and the counts of chunk `index`."""
    state = pickle.loads((folder / f"out-{index:06d}.pkl").read_bytes())
    return _read_frame(folder / f"out-{index:06d}.parquet"), state
