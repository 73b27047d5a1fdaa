"""Chunks shared through the store and claimed in the database: any number of workers, in any order, on any host,
scrub them exactly like one pass, and a chunk whose worker died is taken again."""

from datetime import timedelta

import pandas as pd
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from marketplace.job_errors import JobInputError
from marketplace.models import IngestChunk, Job
from marketplace.pii import Scrubber, ScrubPolicy
from marketplace.pii.benchdata import generate_customers
from marketplace.services import ingest_chunks
from marketplace.services.jobs import job_create
from tests.conftest import org_of


def _fitted(frame: pd.DataFrame) -> Scrubber:
    scrubber = Scrubber(policy=ScrubPolicy(), salt=b"dataset-secret")
    scrubber.fit(frame.head(200))
    for start in range(0, len(frame), 40):
        scrubber.observe(frame.iloc[start : start + 40])
    return scrubber


@pytest.fixture
def job(provider):
    return job_create(kind=Job.Kind.INGEST, organization=org_of(provider), user=provider)


def _queue(job, frame, scrubber) -> int:
    names = [
        ingest_chunks.chunk_put(job=job, index=i, frame=frame.iloc[start : start + 40])
        for i, start in enumerate(range(0, len(frame), 40))
    ]
    ingest_chunks.chunks_open(job=job, scrubber=scrubber, names=names)
    return len(names)


def _objects(job) -> list[str]:
    try:
        return sorted(default_storage.listdir(f"ingest/job-{job.pk}")[1])
    except FileNotFoundError:
        return []


def test_workers_taking_turns_give_the_same_output_and_report_as_one_pass(job):
    frame = generate_customers(200, seed=3)[0].astype(object)
    single = _fitted(frame)
    expected = pd.concat([single.transform(frame.iloc[s : s + 40]) for s in range(0, len(frame), 40)])

    coordinator = _fitted(frame)
    assert ingest_chunks.chunks_work(job_id=job.pk) == 0  # nothing is claimable before the scrubber is published
    count = _queue(job, frame, coordinator)
    turns = [ingest_chunks.chunks_work(job_id=job.pk, max_chunks=1) for _ in range(count + 2)]

    assert turns == [1] * count + [0, 0]
    assert ingest_chunks.chunks_done(job=job) == count
    outputs = [ingest_chunks.chunk_output(job=job, index=i) for i in range(count)]
    for _, state in outputs:
        coordinator.absorb(state)
    got = pd.concat([out for out, _ in outputs])
    assert got.reset_index(drop=True).equals(expected.reset_index(drop=True))
    assert coordinator.report().to_dict() == single.report().to_dict()
    assert list(ingest_chunks.chunks_workers(job=job).values()) == [count]  # host:pid of this process

    ingest_chunks.chunks_clear(job=job)
    assert _objects(job) == [] and not IngestChunk.objects.filter(job=job).exists()


def test_a_chunk_whose_worker_died_is_taken_again_and_the_late_worker_keeps_nothing(job):
    frame = generate_customers(40, seed=4)[0].astype(object)
    scrubber = _fitted(frame)
    _queue(job, frame, scrubber)
    first = ingest_chunks.chunk_claim(job_id=job.pk, stale_after=60)
    assert first is not None and first.index == 0
    assert ingest_chunks.chunk_claim(job_id=job.pk, stale_after=60) is None  # taken, and its worker is alive

    IngestChunk.objects.filter(pk=first.pk).update(claimed_at=timezone.now() - timedelta(seconds=120))
    assert ingest_chunks.chunks_work(job_id=job.pk, stale_after=60) == 1
    assert ingest_chunks.chunks_done(job=job) == 1
    taken_over = IngestChunk.objects.get(pk=first.pk)
    assert taken_over.claim != first.claim

    out, _ = ingest_chunks.chunk_output(job=job, index=0)
    assert len(out) == 40


def test_a_worker_presumed_dead_that_finishes_late_keeps_nothing_in_the_store(job, monkeypatch):
    frame = generate_customers(40, seed=4)[0].astype(object)
    scrubber = _fitted(frame)
    _queue(job, frame, scrubber)
    original = scrubber.transform_chunk

    def scrub_while_taken_over(cells):  # while this worker scrubs, another one takes its chunk over
        IngestChunk.objects.filter(job=job, index=0).update(claim="another-worker", claimed_at=timezone.now())
        return original(cells)

    monkeypatch.setattr(scrubber, "transform_chunk", scrub_while_taken_over)
    assert ingest_chunks.chunks_work(job_id=job.pk, scrubber=scrubber) == 0
    assert IngestChunk.objects.get(job=job, index=0).status == IngestChunk.Status.CLAIMED
    assert _objects(job) == ["chunk-000000.parquet", "scrubber.pkl"]  # its output was deleted


def test_a_worker_stops_quietly_when_the_scrub_was_cleared(job):
    frame = generate_customers(40, seed=4)[0].astype(object)
    _queue(job, frame, _fitted(frame))
    ingest_chunks.chunks_clear(job=job)
    assert ingest_chunks.chunks_work(job_id=job.pk) == 0
    assert ingest_chunks.chunks_work(job_id=10**9) == 0  # an ingest that is gone altogether


def test_the_published_scrubber_carries_the_known_identifiers(job):
    frame = generate_customers(40, seed=5)[0].astype(object)
    scrubber = _fitted(frame)
    _queue(job, frame, scrubber)
    from marketplace.pii import chunks as codec

    row = IngestChunk.objects.get(job=job, index=0)
    with default_storage.open(row.scrubber_name, "rb") as handle:
        copy = codec.unpickled(handle.read())
    assert copy.decisions == scrubber.decisions and copy.known.tokens == scrubber.known.tokens


def test_a_chunk_over_its_time_budget_fails_the_scrub_for_every_worker(job, monkeypatch):
    """A chunk whose free text takes longer than its budget stops the worker with a message the ingest reports,
    instead of holding it; the other workers stop claiming chunks of that scrub."""
    from marketplace.pii import engine

    frame = pd.DataFrame({"note": [f"Visit {i}: patient doing well, follow up next week." for i in range(80)]})
    scrubber = _fitted(frame)
    scrubber.chunk_time_budget_s = 0.5
    clock = iter(range(0, 10_000, 1))  # every look at the clock is one second later
    monkeypatch.setattr(engine.time, "monotonic", lambda: next(clock))
    count = _queue(job, frame, scrubber)

    with pytest.raises(engine.ScrubTimeout, match="longer than its time budget of 0.5 s") as raised:
        ingest_chunks.chunks_work(job_id=job.pk, scrubber=scrubber)
    assert isinstance(raised.value, JobInputError)
    assert "longer than its time budget" in ingest_chunks.chunks_failure(job=job)
    assert ingest_chunks.chunks_work(job_id=job.pk) == 0 and ingest_chunks.chunks_done(job=job) == 0 and count == 2


def test_identifiers_collected_by_other_workers_and_merged_in_order_equal_one_pass(job):
    """The collect stage: chunks read with the decisions so far, collected by whichever worker claims them (here:
    helpers that read the published decisions from the store), merged in chunk order."""
    frame = generate_customers(200, seed=8)[0].astype(object)
    single = _fitted(frame)  # observed every chunk itself

    coordinator = Scrubber(policy=ScrubPolicy(), salt=b"dataset-secret")
    coordinator.fit(frame.head(200))
    names = []
    for index, start in enumerate(range(0, len(frame), 40)):
        part = frame.iloc[start : start + 40]
        names.append(ingest_chunks.chunk_put(job=job, index=index, frame=part))
        coordinator.observe_columns(part)
        if index == 0:  # read before any helper was sent: collected by the ingest itself
            coordinator.absorb_known(coordinator.collect_known(part))
            continue
        decisions = ingest_chunks.decisions_put(job=job, scrubber=coordinator, number=1)
        ingest_chunks.chunk_collect_open(job=job, index=index, name=names[-1], decisions_name=decisions)
    assert ingest_chunks.chunks_collected(job=job) == (4, 0)
    # Helpers collect in reverse order of arrival; nothing waits (wait=False), and scrubbing has not opened yet.
    assert ingest_chunks.chunks_work(job_id=job.pk, max_chunks=3) == 3
    assert ingest_chunks.chunks_work(job_id=job.pk) == 1
    assert ingest_chunks.chunks_collected(job=job) == (4, 4) and ingest_chunks.chunks_done(job=job) == 0

    for known in ingest_chunks.chunks_known(job=job):
        coordinator.absorb_known(known)
    coordinator.known._compact()
    single.known._compact()
    assert coordinator.known._keys.tolist() == single.known._keys.tolist() and len(single.known._keys) > 1000
    assert coordinator.known.tokens == single.known.tokens

    ingest_chunks.chunks_open(job=job, scrubber=coordinator, names=names)
    assert ingest_chunks.chunks_work(job_id=job.pk) == 5
    got = pd.concat([ingest_chunks.chunk_output(job=job, index=i)[0] for i in range(5)], ignore_index=True)
    expected = pd.concat([single.transform(frame.iloc[s : s + 40]) for s in range(0, len(frame), 40)])
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True))


def test_a_waiting_helper_stops_when_the_ingest_is_no_longer_running(job):
    frame = generate_customers(40, seed=4)[0].astype(object)
    scrubber = _fitted(frame)
    name = ingest_chunks.chunk_put(job=job, index=0, frame=frame)
    decisions = ingest_chunks.decisions_put(job=job, scrubber=scrubber, number=1)
    ingest_chunks.chunk_collect_open(job=job, index=0, name=name, decisions_name=decisions)
    IngestChunk.objects.filter(job=job).update(status=IngestChunk.Status.CLAIMED, claimed_at=timezone.now())

    # The only chunk is another worker's and the job is queued, not running: a waiting helper does not wait.
    assert ingest_chunks.chunks_work(job_id=job.pk, wait=True) == 0
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    # Running and still reading: it waits, takes the chunk over once its claim is older than stale_after (its
    # worker died), and stops once nothing else moved for that long.
    assert ingest_chunks.chunks_work(job_id=job.pk, wait=True, stale_after=0.5) == 1
    assert ingest_chunks.chunks_collected(job=job) == (1, 1)
