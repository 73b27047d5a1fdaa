from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Dataset(models.Model):
    class Modality(models.TextChoices):
        TABULAR = "tabular", _("Tabular")
        TEXT = "text", _("Text")

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="datasets")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    modality = models.CharField(max_length=16, choices=Modality.choices, default=Modality.TABULAR)
    tags = models.JSONField(default=list, blank=True)
    # Per-dataset secret for salted hashing: joins inside a dataset keep working, nobody can brute-force small
    # value spaces without it. Never serialised.
    pii_salt = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class DatasetVersion(models.Model):
    """An immutable version of a dataset: the scrubbed canonical Parquet, its schema, profile and PII report."""

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    class SourceFormat(models.TextChoices):
        CSV = "csv", _("CSV")
        TSV = "tsv", _("TSV")
        JSONL = "jsonl", _("JSON Lines")
        PARQUET = "parquet", _("Parquet")
        SYNTHETIC = "synthetic", _("Synthetic")

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    job = models.OneToOneField(
        "marketplace.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="version"
    )
    original_filename = models.CharField(max_length=255, blank=True)
    source_format = models.CharField(max_length=16, choices=SourceFormat.choices)
    # Where the raw upload waits for ingest; emptied once it is deleted. Never served.
    raw_path = models.CharField(max_length=500, blank=True)
    keep_raw = models.BooleanField(default=False, help_text="Keep the raw upload for re-scrubbing.")
    data_path = models.CharField(max_length=500, blank=True, help_text="Scrubbed canonical Parquet in storage.")
    size_bytes = models.BigIntegerField(default=0)
    row_count = models.BigIntegerField(null=True, blank=True)
    schema = models.JSONField(default=list, blank=True)
    pii_report = models.JSONField(default=dict, blank=True)
    pii_policy = models.JSONField(default=dict, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    lineage = models.JSONField(default=dict, blank=True, help_text="Sources of a derived (e.g. synthetic) version.")
    is_synthetic = models.BooleanField(default=False)
    # Every licence this version was built under, transitively (a synthetic version of a synthetic version lists the
    # licences of both). Its effective terms are their most restrictive combination and each must stay active for
    # the version to be used; empty for data the organisation owns outright.
    source_licenses = models.ManyToManyField("marketplace.License", blank=True, related_name="derived_versions")
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [models.UniqueConstraint(fields=["dataset", "number"], name="unique_version_number")]

    def __str__(self) -> str:
        return f"{self.dataset.title} v{self.number}"
