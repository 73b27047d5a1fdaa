"""The storage layer against a real S3-compatible server over HTTP: uploads, kept raw copies and canonical Parquet
live in the bucket, nothing under the local media folder, and downloads and jobs read them back."""

import io

import pandas as pd
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage

from marketplace.settings import storage_from_url
from tests.conftest import CUSTOMERS_CSV, api_client_for, make_listing, org_of, upload_file
from tests.marketplace.storage.conftest import bucket_keys


def test_the_storage_url_selects_local_files_or_an_s3_bucket_and_refuses_anything_else():
    assert storage_from_url("")["BACKEND"].endswith("FileSystemStorage")
    s3 = storage_from_url("s3://data-bucket/tessera/prod", endpoint_url="http://minio:9000")
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (s3["OPTIONS"]["bucket_name"], s3["OPTIONS"]["location"]) == ("data-bucket", "tessera/prod")
    assert s3["OPTIONS"]["endpoint_url"] == "http://minio:9000" and s3["OPTIONS"]["file_overwrite"] is False
    for bad in ("gs://bucket", "s3://", "/srv/data"):
        with pytest.raises(ImproperlyConfigured, match="TESSERA_STORAGE_URL"):
            storage_from_url(bad)


def test_an_upload_is_scrubbed_into_the_bucket_and_a_licensed_buyer_downloads_it_from_there(
    s3_store, provider, buyer, settings, django_capture_on_commit_callbacks
):
    from pathlib import Path

    client = api_client_for(provider)
    dataset = client.post("/api/v1/datasets/", {"title": "Customers"}, format="json").data
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            f"/api/v1/datasets/{dataset['id']}/versions/",
            {"file": upload_file(CUSTOMERS_CSV), "keep_raw": "true"},
            format="multipart",
        )
    assert created.status_code == 202, created.data
    version = client.get(f"/api/v1/versions/{created.data['id']}/").data
    assert version["status"] == "ready", version

    keys = bucket_keys(s3_store)
    assert any(key.startswith("artifacts/raw/") for key in keys)  # the raw copy, kept for re-scrubbing
    assert any(key.endswith(".parquet") for key in keys)
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))  # nothing on the local disk

    from marketplace.models import DatasetVersion

    stored = DatasetVersion.objects.get(pk=version["id"])
    assert not stored.data_path.startswith("/") and f"artifacts/{stored.data_path}" in keys
    with default_storage.open(stored.data_path, "rb") as handle:
        frame = pd.read_parquet(handle)
    assert len(frame) == stored.row_count and "Alice Johnson" not in frame.to_csv()

    make_listing(provider, stored)
    from marketplace.services.licensing import listing_purchase

    listing = stored.listings.get()
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="s3")
    response = api_client_for(buyer).get(f"/api/v1/versions/{stored.pk}/download/?format=csv")
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert pd.read_csv(io.BytesIO(body)).shape == frame.shape


def test_a_training_job_reads_its_versions_from_the_bucket(
    s3_store, provider, buyer, django_capture_on_commit_callbacks, settings, tmp_path
):
    from marketplace.services.licensing import listing_purchase
    from tests.conftest import make_ready_version
    from tests.training.test_services import PARAMS, REVIEWS, _train

    reviews = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    assert f"artifacts/{reviews.data_path}" in bucket_keys(s3_store)
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=make_listing(provider, reviews), idempotency_key="t")
    training = _train(buyer, [reviews], django_capture_on_commit_callbacks, PARAMS)
    assert training.job.status == "succeeded", training.job.error
    assert training.model.lineage[0]["training_rows"] > 0

    # The model's files went to the store: a process on another host (here: this one with the folder gone) fetches
    # them on first use, and predicts the same labels.
    import shutil

    from training.services import model_dir, model_predict

    keys = bucket_keys(s3_store)
    assert any(key.startswith(f"artifacts/models/job-{training.job_id}/") for key in keys)
    assert not any(key.endswith("checkpoint.pt") for key in keys)
    texts = ["great value, love it", "broke after a week"]
    before = model_predict(model=training.model, inputs=texts)
    # The row names the folder, not this host's path to it: another host keeps its models elsewhere.
    assert training.model.path == f"job-{training.job_id}"
    shutil.rmtree(model_dir(training.model))
    settings.TESSERA_TRAINED_MODELS = tmp_path / "another-host" / "trained"
    after = api_client_for(buyer).post(f"/api/v1/models/{training.model.pk}/predict/", {"inputs": texts}, format="json")
    assert after.status_code == 200, after.data
    assert [p["label"] for p in after.data["predictions"]] == [p["label"] for p in before]
    assert any((tmp_path / "another-host" / "trained" / f"job-{training.job_id}").rglob("*.safetensors"))


def test_a_parquet_download_redirects_to_a_short_lived_signed_url_after_the_entitlement_check(
    s3_store, provider, buyer, outsider, django_capture_on_commit_callbacks
):
    import urllib.request

    from marketplace.models import AuditEvent, UsageRecord
    from marketplace.services.licensing import listing_purchase
    from tests.conftest import make_ready_version

    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, pricing={"metered": {"per_gb": 100}})
    path = f"/api/v1/versions/{version.pk}/download/?format=parquet"
    assert api_client_for(outsider).get(path).status_code in (403, 404)  # no licence: no URL handed out
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="p")

    response = api_client_for(buyer).get(path)
    assert response.status_code == 302 and "X-Amz-Signature" in response["Location"]
    assert "X-Amz-Expires=300" in response["Location"]
    with urllib.request.urlopen(response["Location"]) as fetched:
        body = fetched.read()
    with default_storage.open(version.data_path, "rb") as handle:
        assert body == handle.read()
    assert AuditEvent.objects.filter(action="version.downloaded", organization=org_of(buyer)).count() == 1
    assert UsageRecord.objects.get(kind="bytes_downloaded").quantity == len(body)
    # redirect=0 streams it through the web process instead.
    streamed = api_client_for(buyer).get(path + "&redirect=0")
    assert streamed.status_code == 200 and b"".join(streamed.streaming_content) == body


def test_a_fanned_out_ingest_passes_its_chunks_through_the_bucket_and_leaves_none(
    s3_store, provider, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The chunks, the fitted scrubber and the scrubbed outputs are objects in the bucket (a helper on another host
    reads them from there); the assembled version equals an ingest that was not fanned out."""
    from pathlib import Path

    from marketplace.models import DatasetVersion, IngestChunk
    from marketplace.pii.benchdata import generate_customers
    from marketplace.services import ingest_chunks
    from marketplace.services.datasets import dataset_create, version_upload

    seen = {}
    original = ingest_chunks.chunks_known

    def chunks_known(*, job):  # when every chunk is collected: what the workers exchanged is in the bucket
        seen.setdefault("collected", bucket_keys(s3_store))  # the fanned-out ingest comes first
        return original(job=job)

    monkeypatch.setattr(ingest_chunks, "chunks_known", chunks_known)
    settings.TESSERA_INGEST_CHUNK_ROWS = 25
    settings.TESSERA_INGEST_FANOUT, settings.TESSERA_INGEST_FANOUT_MIN_CHUNKS = 2, 3
    content = generate_customers(100, seed=11)[0].to_csv(index=False)
    dataset = dataset_create(organization=org_of(provider), user=provider, title="Customers")
    versions = []
    for fanout in (2, 0):
        settings.TESSERA_INGEST_FANOUT = fanout
        with django_capture_on_commit_callbacks(execute=True):
            version = version_upload(dataset=dataset, user=provider, upload=upload_file(content))
        versions.append(DatasetVersion.objects.get(pk=version.pk))
    fanned, alone = versions

    prefix = f"artifacts/ingest/job-{fanned.job_id}/"
    exchanged = sorted(k.removeprefix(prefix) for k in seen["collected"] if k.startswith(prefix))
    # Chunks 0-2 were read before helpers were sent; chunk 3 was collected through the store, with the decisions.
    assert exchanged[:5] == [f"chunk-00000{i}.parquet" for i in range(4)] + ["decisions-0001.pkl"]
    assert len(exchanged) == 6 and exchanged[5].startswith("known-000003-")
    assert fanned.status == alone.status == "ready" and fanned.pii_report == alone.pii_report
    with default_storage.open(fanned.data_path, "rb") as a, default_storage.open(alone.data_path, "rb") as b:
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    assert not any("/ingest/" in key for key in bucket_keys(s3_store))  # nothing of the scrub is left
    assert not IngestChunk.objects.exists()
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_a_running_jobs_checkpoint_goes_to_the_bucket_and_another_host_resumes_from_it(s3_store, settings, tmp_path):
    """The trainer's checkpoint is published whenever a newer one is written; a worker on another host (its own
    models folder) that takes the job over fetches it before training; a finished job's checkpoints are forgotten."""
    import os

    from training.services import _checkpoints_forget, _CheckpointSync

    settings.TESSERA_TRAINED_MODELS = tmp_path / "host-a"
    first = settings.TESSERA_TRAINED_MODELS / "job-7" / "mix-0.5"
    first.mkdir(parents=True)
    (first / "checkpoint.pt").write_bytes(b"step 50")
    sync = _CheckpointSync(first)
    assert sync.publish() is True and sync.publish() is False  # only a newer checkpoint is sent again
    key = "artifacts/models/job-7/mix-0.5/checkpoint.pt"
    assert key in bucket_keys(s3_store)
    (first / "checkpoint.pt").write_bytes(b"step 100")
    os.utime(first / "checkpoint.pt", (1e10, 1e10))
    assert sync.publish() is True

    settings.TESSERA_TRAINED_MODELS = tmp_path / "host-b"
    taken_over = settings.TESSERA_TRAINED_MODELS / "job-7" / "mix-0.5"
    assert _CheckpointSync(taken_over).fetch() is True
    assert (taken_over / "checkpoint.pt").read_bytes() == b"step 100"
    assert _CheckpointSync(taken_over).fetch() is False  # it has one now

    assert _checkpoints_forget(settings.TESSERA_TRAINED_MODELS / "job-7") == 1
    assert key not in bucket_keys(s3_store)
