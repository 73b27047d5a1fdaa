"""The job lifecycle: a delivery never strands a job, the sweep finds jobs whose worker died, cancel always ends."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.celery import app
from marketplace.models import DatasetVersion, Job
from marketplace.services.datasets import dataset_create, version_upload
from marketplace.services.jobs import JobHeld, job_cancel, job_claim, job_sweep
from marketplace.tasks import job_task_run
from tests.conftest import CUSTOMERS_CSV, org_of, upload_file


@pytest.fixture
def queued(provider) -> DatasetVersion:
    """An upload whose ingest job is queued (its task never ran: no on-commit callbacks here)."""
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    return version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV))


def _running(job: Job, *, heartbeat_age_s: float, attempts: int = 1, cancel_requested: bool = False) -> None:
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age_s),
        attempts=attempts,
        cancel_requested=cancel_requested,
    )


def test_a_delivery_that_finds_its_job_held_by_a_live_worker_comes_back_when_the_heartbeat_could_expire(
    queued, settings
):
    settings.TESSERA_JOB_HEARTBEAT_TIMEOUT_S = 300
    _running(queued.job, heartbeat_age_s=11)  # the worker was killed 11 s ago: its heartbeat still looks fresh

    with pytest.raises(JobHeld) as held:
        job_claim(job_id=queued.job_id)

    assert 289 - 2 <= held.value.retry_in_s <= 290
    assert Job.objects.get(pk=queued.job_id).attempts == 1


def test_the_task_retries_a_held_job_instead_of_dropping_it(queued):
    _running(queued.job, heartbeat_age_s=0)

    class Task:
        countdowns: list[int] = []

        def retry(self, *, countdown: int) -> Exception:
            self.countdowns.append(countdown)
            return RuntimeError("retry scheduled")

    from marketplace.services.ingest import version_ingest

    task = Task()
    with pytest.raises(RuntimeError, match="retry scheduled"):
        job_task_run(task, version_ingest, queued.job_id)
    assert len(task.countdowns) == 1 and task.countdowns[0] > 0


def test_a_finished_or_cancelled_job_is_not_claimed_and_not_retried(queued):
    Job.objects.filter(pk=queued.job_id).update(status=Job.Status.SUCCEEDED)
    assert job_claim(job_id=queued.job_id) is None


def test_the_sweep_requeues_a_silent_job_fails_one_out_of_attempts_and_cancels_an_abandoned_cancel(provider, settings):
    settings.TESSERA_JOB_HEARTBEAT_TIMEOUT_S, settings.TESSERA_JOB_MAX_ATTEMPTS = 60, 3
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    silent, spent, abandoned, alive = (
        version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV)) for _ in range(4)
    )
    _running(silent.job, heartbeat_age_s=61, attempts=1)
    _running(spent.job, heartbeat_age_s=61, attempts=3)
    _running(abandoned.job, heartbeat_age_s=61, cancel_requested=True)
    _running(alive.job, heartbeat_age_s=5)
    sent = []

    done = job_sweep(send=lambda name, args, queue: sent.append((name, args, queue)))

    assert done == {"requeued": [silent.job_id], "failed": [spent.job_id], "cancelled": [abandoned.job_id]}
    assert sent == [("marketplace.tasks.version_ingest_task", [silent.job_id], "cpu")]
    assert "marketplace.tasks.version_ingest_task" in app.tasks
    jobs = {job.pk: job for job in Job.objects.all()}
    assert (jobs[silent.job_id].status, jobs[silent.job_id].message) == (
        "queued",
        "Re-queued: its worker stopped responding",
    )
    assert jobs[spent.job_id].status == "failed" and "stopped 3 times" in jobs[spent.job_id].error
    assert jobs[abandoned.job_id].status == "cancelled" and jobs[alive.job_id].status == "running"
    versions = {v.pk: v for v in DatasetVersion.objects.all()}
    assert versions[spent.pk].status == "failed" and "stopped 3 times" in versions[spent.pk].error
    assert (versions[abandoned.pk].status, versions[abandoned.pk].error) == ("failed", "Processing was cancelled.")
    assert versions[silent.pk].status == versions[alive.pk].status == "processing"
    # A second sweep finds nothing more to do: each change happened once.
    assert job_sweep(send=lambda *args: sent.append(args)) == {"requeued": [], "failed": [], "cancelled": []}
    assert len(sent) == 1


def test_a_requeued_job_is_taken_by_the_next_delivery_and_succeeds(queued, django_capture_on_commit_callbacks):
    _running(queued.job, heartbeat_age_s=10_000)
    job_sweep(send=lambda *args: None)

    from marketplace.services.ingest import version_ingest

    version = version_ingest(job_id=queued.job_id)

    assert version.status == "ready" and version.row_count == 4
    job = Job.objects.get(pk=queued.job_id)
    assert (job.status, job.attempts) == ("succeeded", 2)


def test_cancelling_a_job_whose_worker_is_gone_cancels_it_at_once(queued, settings):
    settings.TESSERA_JOB_HEARTBEAT_TIMEOUT_S = 60
    _running(queued.job, heartbeat_age_s=61)

    job = job_cancel(job=queued.job)

    assert (job.status, job.message) == ("cancelled", "Cancelled (its worker had stopped)")
    queued.refresh_from_db()
    assert (queued.status, queued.error) == ("failed", "Processing was cancelled.")


def test_cancelling_a_job_with_a_live_worker_asks_it_to_stop(queued):
    _running(queued.job, heartbeat_age_s=1)

    job = job_cancel(job=queued.job)

    assert (job.status, job.cancel_requested, job.message) == ("running", True, "Cancelling…")


def test_the_sweep_runs_on_a_beat_schedule():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["jobs-sweep"]
    assert entry["task"] == "marketplace.tasks.jobs_sweep_task" and entry["task"] in app.tasks
    assert entry["schedule"] == float(settings.TESSERA_JOB_SWEEP_INTERVAL_S)
