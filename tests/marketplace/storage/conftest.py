"""A fresh bucket on the S3-compatible server of the test session (`s3_endpoint` in tests/conftest.py), made the
default storage for one test."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def s3_store(s3_endpoint, settings, monkeypatch):
    """A fresh bucket, made the default storage (`TESSERA_STORAGE_URL=s3://bucket/prefix`) for one test."""
    import boto3

    from marketplace.settings import storage_from_url

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    bucket = f"tessera-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_from_url(f"s3://{bucket}/artifacts", endpoint_url=s3_endpoint),
    }
    yield {"client": client, "bucket": bucket, "prefix": "artifacts"}


def bucket_keys(store) -> list[str]:
    listed = store["client"].list_objects_v2(Bucket=store["bucket"])
    return sorted(item["Key"] for item in listed.get("Contents", []))
