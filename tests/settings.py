"""Test overrides: a throwaway TESSERA_HOME, fast password hashing, no throttling surprises."""

import os
import tempfile

os.environ.setdefault("TESSERA_HOME", tempfile.mkdtemp(prefix="tessera-test-"))

from marketplace.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "1000/min"}}  # noqa: F405
TESSERA_INGEST_CHUNK_ROWS = 50
# Tests log in often from one address; the login-throttle tests set the real limits themselves. Counters live in
# this process's memory, cleared before each test (never in Redis, which the Celery broker shares).
TESSERA_LOGIN_ATTEMPTS_PER_MINUTE = 10_000
TESSERA_SIGNUPS_PER_HOUR = 10_000
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Unit tests run tasks in-process; the integration and e2e tests switch this off and start a real worker.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory: the worker process of the integration tests must see the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(TESSERA_HOME / "test.sqlite3")}  # noqa: F405

TESSERA_WEBHOOK_ALLOW_PRIVATE = True  # the tests run their receivers on 127.0.0.1
