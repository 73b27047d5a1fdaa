"""A real Celery worker in another process runs ingest: over Redis when REDIS_URL is set, else the embedded broker."""

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
