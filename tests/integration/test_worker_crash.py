"""A worker killed with SIGKILL in the middle of a job, then a fresh worker (with beat, as `serve` runs it): the job
ends `succeeded` with exactly one output, within the heartbeat timeout plus a sweep interval (plus the work)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from marketplace.models import DatasetVersion, Job
from tests.conftest import org_of, start_worker, stop_worker, upload_file

pytestmark = pytest.mark.integration

HEARTBEAT_TIMEOUT_S, SWEEP_INTERVAL_S = 4, 2
FAST_RECOVERY = {
    "TESSERA_JOB_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S),
    "TESSERA_JOB_SWEEP_INTERVAL_S": str(SWEEP_INTERVAL_S),
    "TESSERA_INGEST_FANOUT": "0",  # one worker does the whole job, so killing it stops the job
}


@pytest.fixture
def workers(settings, transactional_db, tmp_path):
    """Start workers on demand; every one is stopped at the end."""
    from marketplace.celery import app

    app.conf.task_always_eager = False
    started = []

    def start(*, beat: bool):
        schedule = str(tmp_path / f"beat-{len(started)}") if beat else None
        process = start_worker(settings, env=FAST_RECOVERY, beat_schedule=schedule)
        started.append(process)
        return process

    try:
        yield start
    finally:
        app.conf.task_always_eager = True
        for process in started:
            if process.poll() is None:
                stop_worker(process)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _kill_mid_job_then_recover(workers, job_id: int, *, killed_after: float) -> Job:
    """Start a worker, SIGKILL it once the job passed `killed_after` progress, start a fresh one with beat."""
    first = workers(beat=False)
    _wait(
        lambda: Job.objects.filter(pk=job_id, status="running", progress__gte=killed_after).exists(),
        180,
        "the job to get under way",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=20)
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.attempts) == ("running", 1), "the job ended before the worker was killed: make it longer"

    workers(beat=True)
    _wait(lambda: Job.objects.get(pk=job_id).is_finished, HEARTBEAT_TIMEOUT_S + SWEEP_INTERVAL_S + 240, "recovery")
    return Job.objects.get(pk=job_id)


def _ready_version(workers, provider, rows: str, title: str) -> DatasetVersion:
    """Upload `rows` and let a worker (stopped afterwards) ingest them: the source of the job under test."""
    from marketplace.services.datasets import dataset_create, version_upload

    dataset = dataset_create(organization=org_of(provider), user=provider, title=title)
    version = version_upload(dataset=dataset, user=provider, upload=upload_file(rows))
    ingest = workers(beat=False)
    _wait(lambda: DatasetVersion.objects.get(pk=version.pk).status == "ready", 120, "the upload")
    stop_worker(ingest)
    return version


def test_an_ingest_whose_worker_was_killed_is_redone_once_and_succeeds(workers, provider):
    from marketplace.pii.benchdata import generate_customers
    from marketplace.services.datasets import dataset_create, version_upload

    frame = generate_customers(3000, seed=5)[0]
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    version = version_upload(dataset=dataset, user=provider, upload=upload_file(frame.to_csv(index=False)))

    job = _kill_mid_job_then_recover(workers, version.job_id, killed_after=0.3)

    assert (job.status, job.attempts) == ("succeeded", 2), job.error
    versions = list(DatasetVersion.objects.all())
    assert [(v.pk, v.status, v.row_count) for v in versions] == [(version.pk, "ready", 3000)]


def test_a_training_job_whose_worker_was_killed_resumes_and_registers_one_model(workers, provider):
    from training.models import TrainedModel
    from training.services import training_job_create

    rows = "income,home,status\n" + "".join(
        f"{(i * 7) % 90},{['own', 'rent', 'mortgage'][i % 3]},{['good', 'bad'][(i * 7) % 90 < 30]}\n"
        for i in range(400)
    )
    version = _ready_version(workers, provider, rows, "Loans")
    training = training_job_create(
        organization=org_of(provider),
        user=provider,
        base_model="tabular-mlp",
        task="tabular-classification",
        mix=[{"version": version.pk}],
        text_column="",
        label_column="status",
        params={"epochs": 40, "batch_size": 4, "checkpoint_every": 200},
    )

    job = _kill_mid_job_then_recover(workers, training.job_id, killed_after=0.3)

    assert (job.status, job.attempts) == ("succeeded", 2), job.error
    assert TrainedModel.objects.count() == 1
    training.refresh_from_db()
    steps = [event["step"] for event in training.events]  # the newest 2,000 steps are kept
    # Steps redone after the checkpoint replace the lost ones: one curve to the last step, no gaps, no repeats.
    assert steps == list(range(steps[0], training.events[-1]["total_steps"] + 1))


def test_a_synthesis_job_whose_worker_was_killed_is_redone_with_one_output_version(workers, provider):
    from synthesis.services import synthesis_job_create

    rows = "age,plan,amount,region\n" + "".join(
        f"{20 + i % 50},{['basic', 'plus', 'gold'][i % 3]},{(i * 37) % 500 + 0.5},{['n', 's', 'e', 'w'][i % 4]}\n"
        for i in range(4000)
    )
    version = _ready_version(workers, provider, rows, "Accounts")
    synthesis = synthesis_job_create(
        organization=org_of(provider), user=provider, sources=[version.pk], method="gaussian_copula", rows=2000
    )

    job = _kill_mid_job_then_recover(workers, synthesis.job_id, killed_after=0.09)

    assert (job.status, job.attempts) == ("succeeded", 2), job.error
    outputs = DatasetVersion.objects.filter(is_synthetic=True)
    synthesis.refresh_from_db()
    # 2,000 rows asked for and delivered (any copy of a rare real record the privacy guard removed was made up).
    assert [(v.pk, v.status, v.row_count) for v in outputs] == [(synthesis.output_version_id, "ready", 2000)]
    assert synthesis.report["rows"] == 2000
