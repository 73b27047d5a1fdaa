"""An S3-compatible server for the storage tests: the one named by TESSERA_TEST_S3_ENDPOINT, or a moto server (a
dev dependency that `make test` installs) started here for the session, spoken to over HTTP with the same client
code as production (django-storages and boto3)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    endpoint = os.environ.get("TESSERA_TEST_S3_ENDPOINT", "")
    if endpoint:
        yield endpoint
        return
    port = _free_port()
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the moto S3 server did not start")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


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
