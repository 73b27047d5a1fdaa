from celery import Task, shared_task

from marketplace.tasks import JOB_TASK_OPTIONS, job_task_run
from training.services import model_compress_run, training_run


@shared_task(queue="gpu", **JOB_TASK_OPTIONS)
def training_run_task(self: Task, job_id: int) -> None:
    job_task_run(self, training_run, job_id)


@shared_task(queue="gpu", **JOB_TASK_OPTIONS)
def model_compress_task(self: Task, job_id: int) -> None:
    job_task_run(self, model_compress_run, job_id)
