from celery import shared_task

from training.services import training_run


@shared_task(queue="gpu", acks_late=True, reject_on_worker_lost=True)
def training_run_task(job_id: int) -> None:
    training_run(job_id=job_id)
