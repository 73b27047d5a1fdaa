"""How the chunks of one scrub travel between workers: string cells as Parquet bytes; the scrubber, a chunk's
collected identifiers and its report counts as pickles. Nothing here knows about Django, the store or Celery: the
ingest service (`marketplace.services.ingest_chunks`) keeps these bytes in the store and the claims in the database.

Pickles are read only from the platform's own store, never from an upload.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marketplace.pii.engine import Scrubber
from marketplace.pii.text import KnownIdentifiers


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """A chunk (string cells or None) as Parquet bytes; column names become strings."""
    columns = [str(c) for c in frame.columns]
    table = pa.Table.from_pandas(
        frame.set_axis(columns, axis=1), schema=pa.schema([(c, pa.string()) for c in columns]), preserve_index=False
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def frame_from_bytes(data: bytes) -> pd.DataFrame:
    frame = pq.read_table(pa.BufferReader(data)).to_pandas().astype(object)
    return frame.where(pd.notna(frame), None)


def pickled(value: Scrubber | KnownIdentifiers | dict[str, Any]) -> bytes:
    """A fitted scrubber, a chunk's collected identifiers or its report counts, as bytes for the store."""
    return pickle.dumps(value, protocol=5)


def unpickled(data: bytes) -> Any:
    return pickle.loads(data)
