"""A multi-host rehearsal on one machine: the web server and three `cpu` workers as separate processes, each with its
own empty TESSERA_HOME, sharing only PostgreSQL, Redis and an S3-compatible store. One large upload goes from the
API to `ready` with its chunks scrubbed by more than one worker; a licensed buyer downloads it and synthesizes from
it; no process keeps an artifact in its own folder.

It needs what a deployment needs: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), which `.ci/run` provides; the
embedded SQLite and filesystem broker live in one folder, which is what this rehearsal rules out."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from marketplace.pii.benchdata import generate_customers

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ROWS = 6_000


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    credentials = db["USER"] or ""
    if db["PASSWORD"]:
        credentials += f":{db['PASSWORD']}"
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def hosts(transactional_db, s3_endpoint, settings, tmp_path):
    """Start the web server and three workers, each a 'host' with its own empty folder; yield their base URL."""
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("the rehearsal shares PostgreSQL and Redis between hosts: set DATABASE_URL and REDIS_URL")
    import boto3

    bucket = f"rehearsal-{uuid.uuid4().hex[:10]}"
    boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    ).create_bucket(Bucket=bucket)
    from tests.conftest import free_port
    from tests.integration.test_serve import _health, _wait_until

    port = free_port()
    shared = {
        **{k: v for k, v in os.environ.items() if k not in {"TESSERA_MEDIA_ROOT"}},
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "TESSERA_STORAGE_URL": f"s3://{bucket}/tessera",
        "TESSERA_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SECRET_KEY": "rehearsal-" + uuid.uuid4().hex,
        "TESSERA_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "TESSERA_INGEST_CHUNK_ROWS": "250",
        "TESSERA_INGEST_FANOUT": "2",
        "TESSERA_AUTO_APPROVE": "1",
        "OMP_NUM_THREADS": "1",
    }
    homes = {name: tmp_path / name for name in ("web", "worker-1", "worker-2", "worker-3")}
    processes = []
    try:
        for name, home in homes.items():
            home.mkdir()
            env = {**shared, "TESSERA_HOME": str(home)}
            log = open(home.parent / f"{name}.log", "w")  # noqa: SIM115 - closed below
            if name == "web":
                command = [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application"]
                command += ["--config", "python:marketplace.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
                command += ["--worker-class", "gthread", "--threads", "4", "--timeout", "300"]
            else:
                command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", "cpu,gpu"]
                command += ["--pool", "solo", "--loglevel", "INFO", "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
            processes.append((subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        assert _wait_until(lambda: _health(port) is not None, 120), (tmp_path / "web.log").read_text()[-3000:]
        for name in ("worker-1", "worker-2", "worker-3"):
            log = tmp_path / f"{name}.log"
            assert _wait_until(lambda log=log: " ready." in log.read_text(errors="replace"), 120), log.read_text()
        yield {"url": f"http://127.0.0.1:{port}", "homes": homes, "logs": tmp_path}
    finally:
        from tests.conftest import stop_worker

        for process, log in processes:
            stop_worker(process)
            log.close()


def _wait_for(get, done, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = get()
        if done(body):
            return body
        time.sleep(1)
    raise AssertionError(f"{what} did not finish in {seconds:.0f} s: {body}")


def _upload_ready(api: requests.Session, url: str, dataset_id: int, name: str, content: bytes) -> dict:
    """Upload a file as a new version through the web host and wait until the workers have made it ready."""
    created = api.post(f"{url}/api/v1/datasets/{dataset_id}/versions/", files={"file": (name, content, "text/csv")})
    assert created.status_code == 202, created.text
    version = _wait_for(
        lambda: api.get(f"{url}/api/v1/versions/{created.json()['id']}/").json(),
        lambda body: body["status"] != "processing",
        600,
        f"the ingest of {name}",
    )
    assert version["status"] == "ready", version
    return version


def _list_and_buy(provider_api, buyer_api, url: str, version_id: int, title: str) -> None:
    """The provider lists the version for free with every term, it is published, and the buyer licenses it."""
    terms = {"download": True, "synthetic_derivatives": True, "model_training": True, "commercial_use": True}
    listing = provider_api.post(
        f"{url}/api/v1/listings/", json={"dataset_version": version_id, "title": title, "price": 0, "terms": terms}
    )
    assert listing.status_code == 201, listing.text
    submitted = provider_api.post(f"{url}/api/v1/listings/{listing.json()['id']}/submit/")
    assert submitted.json()["status"] == "published", submitted.text
    bought = buyer_api.post(
        f"{url}/api/v1/listings/{listing.json()['id']}/purchase/", json={}, headers={"Idempotency-Key": title}
    )
    assert bought.status_code in (200, 201), bought.text


def test_web_and_three_workers_on_separate_hosts_take_a_large_upload_to_ready_and_serve_it(hosts, provider, buyer):
    from marketplace.models import DatasetVersion
    from marketplace.services.accounts import token_create

    url = hosts["url"]
    provider_api = requests.Session()
    provider_api.headers["Authorization"] = f"Token {token_create(user=provider)[1]}"
    buyer_api = requests.Session()
    buyer_api.headers["Authorization"] = f"Token {token_create(user=buyer)[1]}"

    dataset = provider_api.post(f"{url}/api/v1/datasets/", json={"title": "Customers"}).json()
    content = generate_customers(ROWS, seed=21)[0].to_csv(index=False).encode()
    version = _upload_ready(provider_api, url, dataset["id"], "customers.csv", content)
    assert version["row_count"] == ROWS

    stored = DatasetVersion.objects.select_related("job").get(pk=version["id"])
    workers = stored.job.result["chunk_workers"]
    assert sum(workers["scrub"].values()) == ROWS // 250
    assert len(workers["scrub"]) >= 2, workers  # the chunks were shared between worker processes

    # Listed and licensed through the web host; the buyer's download is a URL signed into the store.
    _list_and_buy(provider_api, buyer_api, url, stored.pk, "Customers")
    download = buyer_api.get(f"{url}/api/v1/versions/{stored.pk}/download/?format=parquet", allow_redirects=False)
    assert download.status_code == 302, download.text
    frame = pd.read_parquet(io.BytesIO(requests.get(download.headers["Location"], timeout=60).content))
    assert len(frame) == ROWS and not frame["email"].str.contains("@", na=False).any()

    # A synthesis job, run by whichever worker takes it, reads a licensed version from the store and writes its
    # output there. (From a small table of plans: on the customer table the privacy guard refuses gaussian_copula,
    # DCR share 0.705 over 0.57, as it should, and `auto` takes minutes.)
    rng = np.random.default_rng(0)
    plans = rng.choice(["basic", "plus", "pro"], 600, p=[0.5, 0.3, 0.2])
    seats = rng.integers(1, 50, 600)
    table = pd.DataFrame(
        {
            "plan": plans,
            "seats": seats,
            "region": rng.choice(["north", "south", "east", "west"], 600),
            "monthly": np.round(seats * np.where(plans == "pro", 15.0, 7.0) + rng.normal(0, 3, 600), 2),
        }
    )
    plans_version = _upload_ready(provider_api, url, dataset["id"], "plans.csv", table.to_csv(index=False).encode())
    _list_and_buy(provider_api, buyer_api, url, plans_version["id"], "Plans")
    synthesis = buyer_api.post(
        f"{url}/api/v1/synthesis-jobs/",
        json={"sources": [plans_version["id"]], "method": "gaussian_copula", "rows": 200},
    )
    assert synthesis.status_code == 202, synthesis.text
    synthesized = _wait_for(
        lambda: buyer_api.get(f"{url}/api/v1/synthesis-jobs/{synthesis.json()['id']}/").json(),
        lambda body: body["status"] in {"succeeded", "failed", "cancelled"},
        600,
        "the synthesis",
    )
    assert synthesized["status"] == "succeeded", synthesized["error"]
    output = DatasetVersion.objects.get(pk=synthesized["output_version"])
    assert output.row_count == 200 and not output.data_path.startswith("/")

    # No host kept an artifact of its own: uploads, chunks, Parquet and synthetic output all live in the store.
    for name, home in hosts["homes"].items():
        kept = [p for p in (home / "media").rglob("*") if p.is_file()] if (home / "media").exists() else []
        assert kept == [], (name, kept)
