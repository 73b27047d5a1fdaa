import pytest
from django.core.files.storage import default_storage

from marketplace.models import DatasetVersion, Job
from marketplace.services.datasets import dataset_create, version_upload
from tests.conftest import CUSTOMERS_CSV, api_client_for, org_of, upload_file


def _upload(provider, capture, keep_raw):
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    with capture(execute=True):
        version = version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV), keep_raw=keep_raw)
    version.refresh_from_db()
    return version


def test_rescrub_with_a_column_override_creates_a_new_version(provider, django_capture_on_commit_callbacks):
    version = _upload(provider, django_capture_on_commit_callbacks, keep_raw=True)
    client = api_client_for(provider)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/versions/{version.pk}/rescrub/", {"pii_policy": {"columns": {"plan": "drop"}}}, format="json"
        )

    assert response.status_code == 202 and response.data["number"] == 2
    new = DatasetVersion.objects.get(pk=response.data["id"])
    assert new.status == "ready", new.error
    assert "plan" not in [c["name"] for c in new.schema]
    assert new.pii_policy["columns"]["plan"] == "drop"
    assert default_storage.exists(version.raw_path) and new.raw_path == version.raw_path


def test_rescrub_refuses_when_the_raw_upload_was_deleted(provider, django_capture_on_commit_callbacks):
    version = _upload(provider, django_capture_on_commit_callbacks, keep_raw=False)

    response = api_client_for(provider).post(
        f"/api/v1/versions/{version.pk}/rescrub/", {"pii_policy": {"columns": {"plan": "drop"}}}, format="json"
    )

    assert response.status_code == 409 and "cannot be scrubbed again" in response.data["message"]
    assert DatasetVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"columns": {"nope": "drop"}}, "Unknown column 'nope'"),
        ({"columns": {"plan": "explode"}}, "Unknown action 'explode'"),
        ({"columns": ["plan"]}, "must map column names to actions"),
    ],
)
def test_rescrub_rejects_bad_policies(policy, message, provider, django_capture_on_commit_callbacks):
    version = _upload(provider, django_capture_on_commit_callbacks, keep_raw=True)
    response = api_client_for(provider).post(
        f"/api/v1/versions/{version.pk}/rescrub/", {"pii_policy": policy}, format="json"
    )
    assert response.status_code == 400 and message in response.data["message"]
    assert DatasetVersion.objects.count() == 1


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("outsider", 404), ("member", 200), ("owner", 200)])
def test_job_detail_by_role(role, expected, provider, provider_member, outsider, django_capture_on_commit_callbacks):
    version = _upload(provider, django_capture_on_commit_callbacks, keep_raw=False)
    caller = {"anonymous": None, "outsider": outsider, "member": provider_member, "owner": provider}[role]

    response = api_client_for(caller).get(f"/api/v1/jobs/{version.job_id}/")

    assert response.status_code == expected
    if expected == 200:
        assert (response.data["kind"], response.data["status"], response.data["progress"]) == (
            "ingest",
            "succeeded",
            1.0,
        )


def test_cancelling_a_queued_job_stops_it_before_it_runs(provider):
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    version = version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV))  # task not sent yet
    client = api_client_for(provider)

    cancelled = client.post(f"/api/v1/jobs/{version.job_id}/cancel/")
    again = client.post(f"/api/v1/jobs/{version.job_id}/cancel/")

    from marketplace.services.ingest import version_ingest

    assert version_ingest(job_id=version.job_id) is None  # a late delivery of the task does nothing
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"
    assert again.status_code == 409
    assert Job.objects.get(pk=version.job_id).status == "cancelled"
    version.refresh_from_db()
    assert (version.status, version.error, version.raw_path) == ("failed", "Processing was cancelled.", "")
