from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """One long action driven by a Celery task; the UI and API read progress from this row."""

    class Kind(models.TextChoices):
        INGEST = "ingest", _("Ingest")
        SYNTHESIS = "synthesis", _("Synthesis")
        TRAINING = "training", _("Training")
        COMPRESSION = "compression", _("Compression")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    config = models.JSONField(default=dict, blank=True, help_text="The resolved configuration the job ran with.")
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED}


class IngestChunk(models.Model):
    """One chunk of an ingest, shared through the store so that `cpu` workers on any host collect its identifiers
    (stage `collect`) and then scrub it (stage `scrub`).

    The chunk's cells, the fitted scrubber and the scrubbed output are objects in the store (`marketplace.services.
    ingest_chunks`); this row is the claim. A worker takes a chunk by a conditional update (waiting, or claimed so
    long ago that its worker is presumed dead, becomes claimed with a new token), so no chunk is scrubbed twice at
    once on any database; only the holder of the current token can mark it done."""

    class Stage(models.TextChoices):
        COLLECT = "collect", _("Collecting identifiers")
        SCRUB = "scrub", _("Scrubbing")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        CLAIMED = "claimed", _("Claimed")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="ingest_chunks")
    index = models.PositiveIntegerField()
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.SCRUB)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    source_name = models.CharField(max_length=500, help_text="The chunk's cells in the store.")
    scrubber_name = models.CharField(
        max_length=500, help_text="The scrubber this stage uses, in the store: decisions so far, or fitted in full."
    )
    claim = models.CharField(max_length=32, blank=True, help_text="The current claim's token; outputs carry it.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the worker that claimed it last.")
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="ingest_chunk_job_index")]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id} ({self.status})"
