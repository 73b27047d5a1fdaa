import io
import json

import pandas as pd
import pytest

from marketplace.models import Dataset, DatasetVersion
from marketplace.services.datasets import dataset_create, version_upload
from tests.conftest import CUSTOMERS_CSV, api_client_for, org_of, upload_file


@pytest.fixture
def ready_version(provider, django_capture_on_commit_callbacks):
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    with django_capture_on_commit_callbacks(execute=True):
        version = version_upload(dataset=dataset, user=provider, upload=upload_file(CUSTOMERS_CSV))
    version.refresh_from_db()
    assert version.status == "ready", version.error
    return version


def _caller(role, provider, provider_member, outsider):
    return {"anonymous": None, "outsider": outsider, "member": provider_member, "owner": provider}[role]


ROLE_STATUS = [("anonymous", 401), ("outsider", 404), ("member", 200), ("owner", 200)]


@pytest.mark.parametrize(("role", "expected"), ROLE_STATUS)
@pytest.mark.parametrize("suffix", ["", "preview/", "download/?format=csv"])
def test_version_endpoints_answer_by_role_and_change_nothing(
    role, expected, suffix, ready_version, provider, provider_member, outsider
):
    before = DatasetVersion.objects.values().get(pk=ready_version.pk)
    client = api_client_for(_caller(role, provider, provider_member, outsider))

    response = client.get(f"/api/v1/versions/{ready_version.pk}/{suffix}")

    assert response.status_code == expected
    if expected != 200:
        assert set(json.loads(b"".join(response.streaming_content) if response.streaming else response.content)) == {
            "message",
            "extra",
        }
    assert DatasetVersion.objects.values().get(pk=ready_version.pk) == before


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("outsider", 404), ("member", 202), ("owner", 202)])
def test_upload_by_role(role, expected, provider, provider_member, outsider):
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    client = api_client_for(_caller(role, provider, provider_member, outsider))

    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/", {"file": upload_file(CUSTOMERS_CSV)}, format="multipart"
    )

    assert response.status_code == expected
    assert DatasetVersion.objects.count() == (1 if expected == 202 else 0)


def test_create_and_list_datasets_only_shows_own_organisation(provider, outsider):
    mine, theirs = api_client_for(provider), api_client_for(outsider)
    created = mine.post(
        "/api/v1/datasets/", {"title": "Customers", "modality": "tabular", "tags": ["CRM", "crm"]}, format="json"
    )
    theirs.post("/api/v1/datasets/", {"title": "Other", "modality": "text"}, format="json")

    assert created.status_code == 201
    assert created.data["tags"] == ["crm"]
    assert [d["title"] for d in mine.get("/api/v1/datasets/").data] == ["Customers"]
    assert theirs.get(f"/api/v1/datasets/{created.data['id']}/").status_code == 404
    assert Dataset.objects.count() == 2


def test_upload_answers_202_processing_then_ready(provider, django_capture_on_commit_callbacks):
    client = api_client_for(provider)
    dataset_id = client.post("/api/v1/datasets/", {"title": "Customers"}, format="json").data["id"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        accepted = client.post(
            f"/api/v1/datasets/{dataset_id}/versions/", {"file": upload_file(CUSTOMERS_CSV)}, format="multipart"
        )
    assert accepted.status_code == 202 and accepted.data["status"] == "processing"
    assert client.get(f"/api/v1/versions/{accepted.data['id']}/").data["status"] == "processing"
    for callback in callbacks:
        callback()

    detail = client.get(f"/api/v1/versions/{accepted.data['id']}/").data
    assert (detail["status"], detail["progress"], detail["row_count"]) == ("ready", 1.0, 4)
    assert [c["name"] for c in detail["schema"]] == ["customer_id", "name", "email", "phone", "plan", "amount", "notes"]
    assert {c["name"] for c in detail["pii_report"]["columns"]} >= {"name", "email", "phone", "notes"}
    assert len(detail["sha256"]) == 64


def test_bad_uploads_are_400_with_a_message(provider):
    client = api_client_for(provider)
    dataset_id = client.post("/api/v1/datasets/", {"title": "Customers"}, format="json").data["id"]

    no_file = client.post(f"/api/v1/datasets/{dataset_id}/versions/", {}, format="multipart")
    wrong_type = client.post(
        f"/api/v1/datasets/{dataset_id}/versions/", {"file": upload_file("x", "a.docx")}, format="multipart"
    )
    bad_policy = client.post(
        f"/api/v1/datasets/{dataset_id}/versions/",
        {"file": upload_file(CUSTOMERS_CSV), "pii_policy": "{not json"},
        format="multipart",
    )
    bad_modality = client.post("/api/v1/datasets/", {"title": "x", "modality": "video"}, format="json")

    assert no_file.status_code == 400 and "file" in no_file.data["message"]
    assert wrong_type.status_code == 400 and "Unsupported file type" in wrong_type.data["message"]
    assert bad_policy.status_code == 400 and "Not valid JSON" in bad_policy.data["message"]
    assert bad_modality.status_code == 400 and "modality" in bad_modality.data["message"]
    assert DatasetVersion.objects.count() == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_downloads_match_the_scrubbed_parquet(fmt, ready_version, provider):
    from django.core.files.storage import default_storage

    response = api_client_for(provider).get(f"/api/v1/versions/{ready_version.pk}/download/?format={fmt}")
    body = b"".join(response.streaming_content)
    with default_storage.open(ready_version.data_path, "rb") as handle:
        expected = pd.read_parquet(handle)

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'.{fmt}"')
    if fmt == "csv":
        got = pd.read_csv(io.BytesIO(body))
    elif fmt == "jsonl":
        got = pd.read_json(io.BytesIO(body), lines=True)
    else:
        got = pd.read_parquet(io.BytesIO(body))
    assert list(got.columns) == list(expected.columns)
    assert got["plan"].tolist() == expected["plan"].tolist()
    assert got["amount"].tolist() == expected["amount"].astype(float).tolist()
    assert got["email"].tolist() == expected["email"].tolist()


def test_unknown_download_format_is_400(ready_version, provider):
    response = api_client_for(provider).get(f"/api/v1/versions/{ready_version.pk}/download/?format=xlsx")
    assert response.status_code == 400 and "Unknown format 'xlsx'" in response.data["message"]


def test_preview_is_the_first_scrubbed_rows(ready_version, provider):
    body = api_client_for(provider).get(f"/api/v1/versions/{ready_version.pk}/preview/").data
    assert body["columns"][:2] == ["customer_id", "name"]
    assert [row[0] for row in body["rows"]] == [1, 2, 3, 4]
    assert "Alice Johnson" not in json.dumps(body)


def test_requests_over_the_upload_limit_are_refused_before_reading(provider, settings):
    settings.TESSERA_MAX_UPLOAD_MB = 0
    client = api_client_for(provider)
    dataset_id = client.post("/api/v1/datasets/", {"title": "Customers"}, format="json").data["id"]
    big = "a,b\n" + "1,2\n" * 300_000

    response = client.post(f"/api/v1/datasets/{dataset_id}/versions/", {"file": upload_file(big)}, format="multipart")

    assert response.status_code == 413
    assert response.json() == {
        "message": "The request is 1.2 MB; uploads are limited to 0 MB.",
        "extra": {"limit_mb": 0},
    }
    assert DatasetVersion.objects.count() == 0
