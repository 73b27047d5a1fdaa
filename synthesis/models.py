from django.db import models


class SynthesisJob(models.Model):
    """A request to synthesize data from licensed versions; status and progress live on the Job row."""

    job = models.OneToOneField("marketplace.Job", on_delete=models.CASCADE, related_name="synthesis")
    organization = models.ForeignKey(
        "marketplace.Organization", on_delete=models.CASCADE, related_name="synthesis_jobs"
    )
    sources = models.ManyToManyField("marketplace.DatasetVersion", related_name="synthesis_jobs")
    method = models.CharField(max_length=50)
    rows = models.PositiveIntegerField()
    params = models.JSONField(default=dict, blank=True)
    lineage = models.JSONField(default=dict, blank=True, help_text="Source versions, SHA-256s and licences.")
    output_version = models.ForeignKey(
        "marketplace.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Synthesis {self.pk} ({self.method})"
