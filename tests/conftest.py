"""Personas (one organisation each) and helpers shared by every test folder."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from marketplace.models import DatasetVersion, Membership
from marketplace.services.accounts import membership_add, token_create, user_register

PASSWORD = "correct-horse-battery"
ROOT = Path(__file__).resolve().parents[1]


def manage_py(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` in a fresh process from the project root, with `env`; its output captured as text."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "tmp"
    (tmp_path / "tmp").mkdir()
    # Job ids repeat across tests (rolled back): a shared folder would hand one test another's finished run.
    settings.TESSERA_TRAINED_MODELS = tmp_path / "trained"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and lockout counters start empty in every test (tests.settings keeps them in process memory)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a request with a Chinese Accept-Language leaves its language
    active in the thread (LocaleMiddleware activates, nothing deactivates), and a later test that calls a service
    directly got its message in Chinese."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


def _persona(username: str, organization: str):
    return user_register(
        username=username, password=PASSWORD, email=f"{username}@example.com", organization=organization
    )


@pytest.fixture
def provider(db):
    return _persona("prov", "Provider Org")


@pytest.fixture
def provider_member(provider):
    from django.contrib.auth.models import User

    user = User.objects.create_user("prov-member", password=PASSWORD)
    membership_add(organization=provider.memberships.get().organization, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def buyer(db):
    return _persona("buy", "Buyer Org")


@pytest.fixture
def outsider(db):
    return _persona("out", "Outsider Org")


def org_of(user):
    return user.memberships.get().organization


def api_client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = token_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api_for() -> Callable:
    return api_client_for


CUSTOMERS_CSV = (
    "customer_id,name,email,phone,plan,amount,notes\n"
    "1,Alice Johnson,alice.johnson@example.com,+1 415 555 0101,gold,120.50,Alice Johnson asked about her invoice\n"
    "2,Bruno Keller,bruno.keller@example.de,+49 30 901820,silver,80.00,Call Bruno Keller back on +49 30 901820\n"
    "3,Chiara Rossi,chiara.rossi@example.it,+39 06 6982 0001,gold,99.99,No issues\n"
    "4,Dmitri Ivanov,dmitri@example.org,+44 20 7946 0958,bronze,15.25,Wrote from dmitri@example.org about refunds\n"
)


def upload_file(content: str | bytes, name: str = "customers.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def wait_for_version(version_id: int, timeout: float = 120.0) -> DatasetVersion:
    """Poll a version until it leaves `processing` (for tests that run a real worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version = DatasetVersion.objects.get(pk=version_id)
        if version.status != DatasetVersion.Status.PROCESSING:
            return version
        time.sleep(0.5)
    raise AssertionError(f"version {version_id} still processing after {timeout}s")


def parquet_bytes(frame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def start_worker(settings, *, env: dict[str, str] | None = None, beat_schedule: str | None = None):
    """Start a real Celery worker in a separate process, over Redis when REDIS_URL is set, else the embedded broker.

    It shares the test database and media folder with the test process; tasks are sent for real (not eager).
    `beat_schedule` (a file path) embeds Celery beat, which runs the job sweep.
    """
    import os
    import subprocess
    import sys

    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        credentials = db["USER"] or ""
        if db["PASSWORD"]:
            credentials += f":{db['PASSWORD']}"
        database_url = f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": database_url,
        "TESSERA_HOME": str(settings.TESSERA_HOME),
        "TESSERA_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "TESSERA_INGEST_CHUNK_ROWS": "50",
        **(env or {}),
    }
    command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", "cpu,gpu", "--pool", "solo"]
    command += ["--loglevel", "WARNING", "--hostname", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
    if beat_schedule:
        command += ["--beat", "--schedule", beat_schedule]
    return subprocess.Popen(command, env=environment)


def stop_worker(process) -> None:
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def celery_worker_process(settings, transactional_db):
    """A real Celery worker in a separate process (see `start_worker`)."""
    from marketplace.celery import app

    app.conf.task_always_eager = False
    process = start_worker(settings)
    try:
        yield process
    finally:
        app.conf.task_always_eager = True
        stop_worker(process)


def make_ready_version(user, capture, content: str = CUSTOMERS_CSV, title: str = "Customers"):
    """A scrubbed, ready version owned by `user`'s organisation (ingest run in-process)."""
    from marketplace.services.datasets import dataset_create, version_upload

    dataset = dataset_create(organization=org_of(user), user=user, title=title)
    with capture(execute=True):
        version = version_upload(dataset=dataset, user=user, upload=upload_file(content))
    version.refresh_from_db()
    assert version.status == "ready", version.error
    return version


TERMS_ALL = {
    "download": True,
    "synthetic_derivatives": True,
    "model_training": True,
    "commercial_use": True,
    "duration_days": None,
}


def make_listing(user, version, *, publish: bool = True, **fields):
    from marketplace.services.publishing import listing_approve, listing_create, listing_submit

    fields.setdefault("title", "Customer table")
    fields.setdefault("terms", dict(TERMS_ALL))
    listing = listing_create(organization=org_of(user), user=user, dataset_version=version, **fields)
    if publish:
        listing = listing_submit(listing=listing, user=user)
        if listing.status == "pending_review":
            listing = listing_approve(listing=listing, operator=None)
    return listing


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for servers the tests start)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3-compatible server over HTTP: the one named by TESSERA_TEST_S3_ENDPOINT (`.ci/run` starts one), or a
    moto server (a dev dependency that `make test` installs) started here for the session. The tests speak to it
    with the same client code as production (django-storages and boto3)."""
    import os
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    endpoint = os.environ.get("TESSERA_TEST_S3_ENDPOINT", "")
    if endpoint:
        yield endpoint
        return
    port = free_port()
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
