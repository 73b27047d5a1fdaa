from celery import shared_task

from synthesis.services import synthesis_run


@shared_task(queue="gpu", acks_late=True, reject_on_worker_lost=True)
def synthesis_run_task(job_id: int) -> None:
    synthesis_run(job_id=job_id)
