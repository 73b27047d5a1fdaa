"""A real Celery worker in another process runs ingest: over Redis when REDIS_URL is set, else the embedded broker."""

import os
import time

import pytest

from marketplace.services.datasets import dataset_create, version_upload
from tests.conftest import CUSTOMERS_CSV, org_of, upload_file, wait_for_version

pytestmark = pytest.mark.integration


def test_real_worker_ingests_an_upload_end_to_end(celery_worker_process, provider, settings):
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    version = version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV))  # commits at once

    version = wait_for_version(version.pk, timeout=180)

    assert version.status == "ready", version.error
    assert version.row_count == 4
    assert version.job.attempts == 1 and version.job.status == "succeeded"
    assert celery_worker_process.poll() is None


def test_real_worker_scrubs_the_chunks_an_ingest_shares(celery_worker_process, provider):
    import pandas as pd

    from marketplace.models import Job
    from marketplace.pii import Scrubber, ScrubPolicy
    from marketplace.pii.benchdata import generate_customers
    from marketplace.services import ingest_chunks
    from marketplace.services.jobs import job_create
    from marketplace.tasks import scrub_chunks_task

    frame = generate_customers(90, seed=2)[0].astype(object)
    scrubber = Scrubber(policy=ScrubPolicy(), salt=b"dataset-secret")
    scrubber.fit(frame)
    scrubber.observe(frame)
    job = job_create(kind=Job.Kind.INGEST, organization=org_of(provider), user=provider)
    parts = [frame.iloc[start : start + 30] for start in (0, 30, 60)]
    names = [ingest_chunks.chunk_put(job=job, index=i, frame=part) for i, part in enumerate(parts)]
    ingest_chunks.chunks_open(job=job, scrubber=scrubber, names=names)

    scrub_chunks_task.delay(job.pk)  # to the worker process, over the broker
    deadline = time.monotonic() + 120
    while ingest_chunks.chunks_done(job=job) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)

    assert ingest_chunks.chunks_done(job=job) == 3
    got = pd.concat([ingest_chunks.chunk_output(job=job, index=i)[0] for i in range(3)]).reset_index(drop=True)
    expected = pd.concat([scrubber.transform(part) for part in parts]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    (worker,) = ingest_chunks.chunks_workers(job=job)
    assert worker.rsplit(":", 1)[1] != str(os.getpid())  # scrubbed in the worker's process, not here


def test_two_real_workers_share_one_ingest_collecting_and_scrubbing_its_chunks(transactional_db, provider, settings):
    """One worker runs the ingest job, the other answers its call for help: both collect identifiers and both scrub
    chunks (each claims by a row update; the chunks travel through the store), and the version is the same as one
    worker alone would make."""
    from marketplace.celery import app
    from marketplace.models import DatasetVersion
    from marketplace.pii.benchdata import generate_customers
    from tests.conftest import start_worker, stop_worker

    content = generate_customers(3000, seed=12)[0].to_csv(index=False)
    env = {"TESSERA_INGEST_FANOUT": "1", "TESSERA_INGEST_FANOUT_MIN_CHUNKS": "3"}
    app.conf.task_always_eager = False
    workers = [start_worker(settings, env=env), start_worker(settings, env=env)]
    try:
        dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
        version = version_upload(dataset=dataset, user=provider, upload=upload_file(content))
        version = wait_for_version(version.pk, timeout=300)
    finally:
        app.conf.task_always_eager = True
        for worker in workers:
            stop_worker(worker)

    assert version.status == "ready", version.error
    assert version.row_count == 3000
    shared = version.job.result["chunk_workers"]
    assert sum(shared["scrub"].values()) == 60
    assert len(shared["scrub"]) == 2 and sum(shared["collect"].values()) == 57, shared  # chunks 0-2: read first
    stored = DatasetVersion.objects.get(pk=version.pk)
    assert stored.pii_report["rows"] == 3000
