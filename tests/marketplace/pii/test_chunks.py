"""Chunks shared through a folder: any number of workers, in any order, scrub them exactly like one pass."""

import os
import pickle
import time

import pandas as pd

from marketplace.pii import Scrubber, ScrubPolicy
from marketplace.pii import chunks as pii_chunks
from marketplace.pii.benchdata import generate_customers


def _fitted(frame: pd.DataFrame) -> Scrubber:
    scrubber = Scrubber(policy=ScrubPolicy(), salt=b"dataset-secret")
    scrubber.fit(frame.head(200))
    for start in range(0, len(frame), 40):
        scrubber.observe(frame.iloc[start : start + 40])
    return scrubber


def _queue(folder, frame) -> int:
    count = 0
    for count, start in enumerate(range(0, len(frame), 40), start=1):
        pii_chunks.add_chunk(folder, count - 1, frame.iloc[start : start + 40])
    return count


def test_two_workers_taking_turns_give_the_same_output_and_report_as_one_pass(tmp_path):
    frame, _ = generate_customers(200, seed=3)
    frame = frame.astype(object)
    single = _fitted(frame)
    expected = pd.concat([single.transform(frame.iloc[s : s + 40]) for s in range(0, len(frame), 40)])

    coordinator = _fitted(frame)
    count = _queue(tmp_path, frame)
    assert pii_chunks.work(tmp_path) == 0  # nothing is claimed before the fitted scrubber is published
    pii_chunks.publish_scrubber(tmp_path, coordinator)
    turns = [pii_chunks.work(tmp_path, max_chunks=1) for _ in range(count + 2)]

    assert turns == [1] * count + [0, 0]
    assert pii_chunks.finished(tmp_path) == set(range(count))
    outputs = [pii_chunks.output(tmp_path, i) for i in range(count)]
    for _, state in outputs:
        coordinator.absorb(state)
    got = pd.concat([out for out, _ in outputs])
    assert got.reset_index(drop=True).equals(expected.reset_index(drop=True))
    assert coordinator.report().to_dict() == single.report().to_dict()


def test_a_chunk_whose_worker_died_is_taken_again(tmp_path):
    frame, _ = generate_customers(40, seed=4)
    pii_chunks.add_chunk(tmp_path, 0, frame.astype(object))
    pii_chunks.publish_scrubber(tmp_path, _fitted(frame.astype(object)))
    assert pii_chunks.claim(tmp_path, stale_after=60) == 0
    assert pii_chunks.claim(tmp_path, stale_after=60) is None  # taken, and its worker is alive

    claimed = tmp_path / "chunk-000000.claimed"
    old = time.time() - 120
    os.utime(claimed, (old, old))

    assert pii_chunks.work(tmp_path, stale_after=60) == 1
    assert pii_chunks.finished(tmp_path) == {0}


def test_a_worker_stops_quietly_when_the_ingest_folder_is_gone(tmp_path):
    folder = tmp_path / "chunks"
    assert pii_chunks.work(folder) == 0


def test_the_published_scrubber_carries_the_known_identifiers(tmp_path):
    frame, _ = generate_customers(40, seed=5)
    scrubber = _fitted(frame.astype(object))
    pii_chunks.publish_scrubber(tmp_path, scrubber)
    copy = pickle.loads((tmp_path / pii_chunks.STATE).read_bytes())
    assert copy.decisions == scrubber.decisions and copy.known.tokens == scrubber.known.tokens


def test_a_chunk_over_its_time_budget_fails_the_scrub_for_every_worker(tmp_path, monkeypatch):
    """A chunk whose free text takes longer than its budget stops the worker with a message the ingest reports,
    instead of holding it; the other workers stop claiming chunks of that scrub."""
    import pytest

    from marketplace.job_errors import JobInputError
    from marketplace.pii import engine

    frame = pd.DataFrame({"note": [f"Visit {i}: patient doing well, follow up next week." for i in range(80)]})
    scrubber = _fitted(frame)
    scrubber.chunk_time_budget_s = 0.5
    clock = iter(range(0, 10_000, 1))  # every look at the clock is one second later
    monkeypatch.setattr(engine.time, "monotonic", lambda: next(clock))
    count = _queue(tmp_path, frame)
    pii_chunks.publish_scrubber(tmp_path, scrubber)

    with pytest.raises(engine.ScrubTimeout, match="longer than its time budget of 0.5 s") as raised:
        pii_chunks.work(tmp_path, scrubber=scrubber)
    assert isinstance(raised.value, JobInputError)
    assert "longer than its time budget" in pii_chunks.failure(tmp_path)
    assert pii_chunks.work(tmp_path) == 0 and len(pii_chunks.finished(tmp_path)) == 0 and count == 2
