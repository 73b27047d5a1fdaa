"""Datasets and uploads: a new version streams its file to storage and queues ingest after commit."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext

from marketplace.dataio import format_from_filename
from marketplace.errors import ApplicationError
from marketplace.models import Dataset, DatasetVersion, Job, Organization
from marketplace.pii import ScrubPolicy
from marketplace.services.jobs import job_create


def _clean_tags(tags: list[str] | None) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ApplicationError(gettext("Tags must be a list of strings."), extra={"field": "tags"})
    cleaned = []
    for tag in tags:
        tag = tag.strip().lower()[:50]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return cleaned[:20]


def dataset_create(
    *,
    organization: Organization,
    user: AbstractBaseUser | None,
    title: str,
    description: str = "",
    modality: str = Dataset.Modality.TABULAR,
    tags: list[str] | None = None,
) -> Dataset:
    if not title or not title.strip():
        raise ApplicationError(gettext("A dataset needs a title."), extra={"field": "title"})
    if modality not in Dataset.Modality.values:
        raise ApplicationError(
            gettext("Modality must be one of %(items)s.") % {"items": ", ".join(Dataset.Modality.values)},
            extra={"field": "modality"},
        )
    return Dataset.objects.create(
        organization=organization,
        created_by=user,
        title=title.strip()[:200],
        description=description or "",
        modality=modality,
        tags=_clean_tags(tags),
        pii_salt=secrets.token_hex(32),
    )


def _next_version_number(dataset: Dataset) -> int:
    # Lock the dataset row so two concurrent uploads cannot both take the same number.
    Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
    return (dataset.versions.aggregate(n=Max("number"))["n"] or 0) + 1


@transaction.atomic
def version_upload(
    *,
    dataset: Dataset,
    user: AbstractBaseUser | None,
    upload: UploadedFile,
    keep_raw: bool = False,
    pii_policy: dict | None = None,
) -> DatasetVersion:
    """Store an upload and queue its ingest. The version stays `processing` until the worker finishes."""
    filename = upload.name or "upload"
    fmt = format_from_filename(filename)
    if fmt is None:
        raise ApplicationError(
            gettext(
                "Unsupported file type for %(filename)r. Upload a .csv, .tsv, .json, .jsonl, .parquet or .xlsx file."
            )
            % {"filename": filename},
            extra={"field": "file"},
        )
    max_bytes = settings.TESSERA_MAX_UPLOAD_MB * 1024 * 1024
    if upload.size is not None and upload.size > max_bytes:
        raise ApplicationError(
            gettext("The file is %(value).1f MB; the limit is %(TESSERA_MAX_UPLOAD_MB)s MB.")
            % {"value": upload.size / 1e6, "TESSERA_MAX_UPLOAD_MB": settings.TESSERA_MAX_UPLOAD_MB},
            extra={"field": "file", "limit_mb": settings.TESSERA_MAX_UPLOAD_MB},
            status=413,
        )
    if not upload.size:
        raise ApplicationError(gettext("The uploaded file is empty."), extra={"field": "file"})
    try:
        policy = ScrubPolicy.from_dict(pii_policy or {})
    except (TypeError, ValueError, KeyError) as exc:
        raise ApplicationError(
            gettext("Invalid PII policy: %(error)s") % {"error": exc}, extra={"field": "pii_policy"}
        ) from exc
    # The storage API streams chunk by chunk from the temporary upload file; the raw name is never exposed.
    raw_path = default_storage.save(f"raw/{dataset.pk}/{uuid.uuid4().hex}.{fmt}", upload)
    job = job_create(kind=Job.Kind.INGEST, organization=dataset.organization, user=user, config={"format": fmt})
    version = DatasetVersion.objects.create(
        dataset=dataset,
        number=_next_version_number(dataset),
        created_by=user,
        job=job,
        original_filename=filename[:255],
        source_format=fmt,
        raw_path=raw_path,
        keep_raw=keep_raw,
        size_bytes=upload.size or 0,
        pii_policy=policy.to_dict(),
    )
    # Enqueue only after commit, so the worker finds the rows it is sent.
    transaction.on_commit(lambda: _enqueue_ingest(job.pk))
    return version


def _enqueue_ingest(job_id: int) -> None:
    from marketplace.tasks import version_ingest_task

    version_ingest_task.delay(job_id)


PII_ACTIONS = ("keep", "drop", "redact", "mask", "hash", "replace", "generalize")


@transaction.atomic
def version_rescrub(*, version: DatasetVersion, user: AbstractBaseUser | None, pii_policy: dict) -> DatasetVersion:
    """Scrub the kept raw upload of `version` again with a new policy, as a new version (versions are immutable)."""
    if not version.keep_raw or not version.raw_path or not default_storage.exists(version.raw_path):
        raise ApplicationError(
            gettext(
                "The raw upload of this version was deleted after scrubbing, so it cannot be "
                "scrubbed again. Upload the file again (tick 'keep the raw upload' to allow "
                "re-scrubbing)."
            ),
            status=409,
        )
    columns = (pii_policy or {}).get("columns", {})
    if not isinstance(columns, dict):
        raise ApplicationError(
            gettext("pii_policy.columns must map column names to actions."), extra={"field": "pii_policy"}
        )
    known = {column["name"] for column in version.pii_report.get("columns", [])} or None
    for name, action in columns.items():
        if known is not None and name not in known:
            raise ApplicationError(
                gettext("Unknown column %(name)r in the policy.") % {"name": name}, extra={"field": "pii_policy"}
            )
        if action not in PII_ACTIONS:
            raise ApplicationError(
                gettext("Unknown action %(action)r for column %(name)r. Use one of: %(items)s.")
                % {"action": action, "name": name, "items": ", ".join(PII_ACTIONS)},
                extra={"field": "pii_policy"},
            )
    try:
        policy = ScrubPolicy.from_dict(pii_policy or {})
    except (TypeError, ValueError, KeyError) as exc:
        raise ApplicationError(
            gettext("Invalid PII policy: %(error)s") % {"error": exc}, extra={"field": "pii_policy"}
        ) from exc
    dataset = version.dataset
    job = job_create(
        kind=Job.Kind.INGEST,
        organization=dataset.organization,
        user=user,
        config={"format": version.source_format, "rescrub_of": version.pk},
    )
    new_version = DatasetVersion.objects.create(
        dataset=dataset,
        number=_next_version_number(dataset),
        created_by=user,
        job=job,
        original_filename=version.original_filename,
        source_format=version.source_format,
        raw_path=version.raw_path,
        keep_raw=True,
        size_bytes=version.size_bytes,
        pii_policy=policy.to_dict(),
    )
    transaction.on_commit(lambda: _enqueue_ingest(job.pk))
    return new_version


def storage_is_local() -> bool:
    """Whether artifacts live on this machine's disk (no TESSERA_STORAGE_URL): then nothing is copied to a store and
    no signed URL can be handed out."""
    return isinstance(default_storage, FileSystemStorage)
