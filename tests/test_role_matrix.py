"""Who may do what, for the endpoints that change things: every role against the provider's objects (and the
buyer's), with the status each must answer and proof that a refused call changed nothing.

Roles: anonymous (401), a stranger organisation, the buyer (licensed, or requesting access), a member of the
provider's organisation and its owner. A stranger gets 404 for what it may not know exists, 403 for what it can see
(a published listing's version) but may not use.
"""

import pytest

from marketplace.models import AccessRequest, Dataset, DatasetVersion, Job, Listing
from marketplace.services.datasets import version_upload
from synthesis.models import SynthesisJob
from tests.conftest import CUSTOMERS_CSV, api_client_for, make_listing, make_ready_version, org_of, upload_file
from training.models import TrainedModel, TrainingJob

LOANS = "income,home,status\n" + "".join(
    f"{(i * 7) % 90},{['own', 'rent', 'mortgage'][i % 3]},{['good', 'bad'][(i * 7) % 90 < 30]}\n" for i in range(60)
)
ROLES = ["anonymous", "outsider", "buyer", "provider_member", "provider"]


@pytest.fixture
def world(provider, buyer, django_capture_on_commit_callbacks):
    """The provider's published loans table, licensed by the buyer."""
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=LOANS, title="Loans")
    listing = make_listing(provider, version, title="Loans")
    assert (
        api_client_for(buyer)
        .post(f"/api/v1/listings/{listing.pk}/purchase/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        .status_code
        == 201
    )
    return {"version": version, "listing": listing}


def _call(request, role, method, path, body=None):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    client = api_client_for(user)
    return getattr(client, method)(path, body or {}, format="json")


def _statuses(request, method, path, body, roles=ROLES):
    return {role: _call(request, role, method, path, body).status_code for role in roles}


def test_rescrub_is_the_provider_organisations_alone(request, provider, django_capture_on_commit_callbacks):
    dataset = Dataset.objects.create(organization=org_of(provider), created_by=provider, title="Loans")
    with django_capture_on_commit_callbacks(execute=True):  # the raw upload kept, so it can be scrubbed again
        version = version_upload(dataset=dataset, user=provider, upload=upload_file(LOANS), keep_raw=True)
    version.refresh_from_db()
    make_listing(provider, version, title="Loans")
    path = f"/api/v1/versions/{version.pk}/rescrub/"
    body = {"pii_policy": {"columns": {"home": "drop"}}}
    refused = _statuses(request, "post", path, body, ROLES[:3])
    assert refused == {"anonymous": 401, "outsider": 403, "buyer": 403}
    assert DatasetVersion.objects.filter(dataset=version.dataset).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert _statuses(request, "post", path, body, ["provider_member", "provider"]) == {
            "provider_member": 202,
            "provider": 202,
        }
    assert DatasetVersion.objects.filter(dataset=version.dataset).count() == 3


def test_job_cancel_is_for_the_jobs_organisation(request, provider, provider_member):
    dataset = Dataset.objects.create(organization=org_of(provider), created_by=provider, title="Queued")
    jobs = [
        version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV)).job for _ in range(2)
    ]  # queued: the ingest tasks are not sent outside a commit
    refused = _statuses(request, "post", f"/api/v1/jobs/{jobs[0].pk}/cancel/", None, ROLES[:3])
    assert refused == {"anonymous": 401, "outsider": 404, "buyer": 404}
    assert Job.objects.get(pk=jobs[0].pk).status == "queued"
    for job, role in zip(jobs, ["provider_member", "provider"], strict=True):
        assert _call(request, role, "post", f"/api/v1/jobs/{job.pk}/cancel/").status_code == 200
        assert Job.objects.get(pk=job.pk).status == "cancelled"


def test_synthesis_needs_a_licence_or_ownership(request, world, django_capture_on_commit_callbacks):
    body = {"sources": [world["version"].pk], "method": "gaussian_copula", "rows": 20}
    refused = _statuses(request, "post", "/api/v1/synthesis-jobs/", body, ROLES[:2])
    assert refused == {"anonymous": 401, "outsider": 403}
    assert SynthesisJob.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False):
        allowed = _statuses(request, "post", "/api/v1/synthesis-jobs/", body, ROLES[2:])
    assert allowed == {"buyer": 202, "provider_member": 202, "provider": 202}
    assert SynthesisJob.objects.count() == 3


def test_training_needs_a_licence_or_ownership(request, world, django_capture_on_commit_callbacks):
    body = {
        "base_model": "tabular-mlp",
        "task": "tabular-classification",
        "mix": [{"version": world["version"].pk}],
        "label_column": "status",
        "params": {"epochs": 1},
    }
    refused = _statuses(request, "post", "/api/v1/training-jobs/", body, ROLES[:2])
    assert refused == {"anonymous": 401, "outsider": 403}
    assert TrainingJob.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False):
        allowed = _statuses(request, "post", "/api/v1/training-jobs/", body, ROLES[2:])
    assert allowed == {"buyer": 202, "provider_member": 202, "provider": 202}


def test_a_model_predicts_and_downloads_for_its_organisation_only(
    request, world, buyer, django_capture_on_commit_callbacks
):
    """The buyer's model is the buyer's: the provider whose rows went into it may not know it exists."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(buyer).post(
            "/api/v1/training-jobs/",
            {
                "base_model": "tabular-mlp",
                "task": "tabular-classification",
                "mix": [{"version": world["version"].pk}],
                "label_column": "status",
                "params": {"epochs": 1, "batch_size": 8},
            },
            format="json",
        )
    assert response.status_code == 202
    model = TrainedModel.objects.get()
    predict = f"/api/v1/models/{model.pk}/predict/"
    body = {"inputs": [{"income": 5, "home": "own"}]}
    assert _statuses(request, "post", predict, body) == {
        "anonymous": 401,
        "outsider": 404,
        "buyer": 200,
        "provider_member": 404,
        "provider": 404,
    }
    download = {role: _call(request, role, "get", f"/api/v1/models/{model.pk}/download/") for role in ROLES}
    assert {role: r.status_code for role, r in download.items()} == {
        "anonymous": 401,
        "outsider": 404,
        "buyer": 200,
        "provider_member": 404,
        "provider": 404,
    }
    assert download["buyer"]["Content-Type"] == "application/zip"


def test_access_request_deny_is_the_providers(request, provider, buyer, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=LOANS, title="Loans")
    listing = make_listing(provider, version, requires_approval=True)
    assert (
        api_client_for(buyer)
        .post(
            f"/api/v1/listings/{listing.pk}/purchase/",
            {"intended_use": "credit research"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="ask",
        )
        .status_code
        == 202
    )
    access_request = AccessRequest.objects.get()
    path = f"/api/v1/access-requests/{access_request.pk}/deny/"
    refused = _statuses(request, "post", path, {"reason": "not for credit scoring"}, ROLES[:3])
    assert refused == {"anonymous": 401, "outsider": 404, "buyer": 403}
    assert AccessRequest.objects.get().status == "pending"
    assert _call(request, "provider_member", "post", path, {"reason": "not for credit scoring"}).status_code == 200
    assert AccessRequest.objects.get().status == "denied"


def test_only_the_owner_organisation_lists_a_version(request, world):
    body = {
        "dataset_version": world["version"].pk,
        "title": "Loans again",
        "price": 0,
        "terms": {"download": True, "duration_days": 30},
    }
    before = Listing.objects.count()
    refused = _statuses(request, "post", "/api/v1/listings/", body, ROLES[:3])
    assert refused == {"anonymous": 401, "outsider": 403, "buyer": 403}
    assert Listing.objects.count() == before
    allowed = _statuses(request, "post", "/api/v1/listings/", body, ["provider_member", "provider"])
    assert allowed == {"provider_member": 201, "provider": 201}
    assert Listing.objects.count() == before + 2
