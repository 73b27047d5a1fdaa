"""The Celery app. Queues: `cpu` (ingest, scrubbing, reports) and `gpu` (LLM generation, training)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
