from django.db import models
from django.utils.translation import gettext_lazy as _


class UsageRecord(models.Model):
    """Append-only: what a job or a download used of one licensed version. `key` makes each record idempotent per
    job and per download, so a redelivered job or a retried stream never counts twice."""

    class Kind(models.TextChoices):
        ROWS_READ = "rows_read", _("Rows read")
        SYNTHETIC_ROWS = "synthetic_rows", _("Synthetic rows produced")
        BYTES_DOWNLOADED = "bytes_downloaded", _("Bytes downloaded")

    key = models.CharField(max_length=200, unique=True)
    license = models.ForeignKey("marketplace.License", on_delete=models.PROTECT, related_name="usage_records")
    buyer = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT, related_name="usage_as_buyer")
    provider = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT, related_name="usage_as_provider")
    dataset_version = models.ForeignKey("marketplace.DatasetVersion", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    quantity = models.PositiveBigIntegerField()
    job = models.ForeignKey("marketplace.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What the use built or served: "model" (with its id and name), "synthetic_version", or "download".
    subject_kind = models.CharField(max_length=20)
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject_name = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    billable = models.BooleanField(help_text="Metered under the licence's plan (not a trial, not flat-priced).")
    invoice = models.ForeignKey(
        "marketplace.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="usage_records"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class Invoice(models.Model):
    """One buyer's metered charges for one period; a later run for the same period bills only later usage, in a
    new invoice with the next `sequence`."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued, not yet charged")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed")

    buyer = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT, related_name="invoices")
    period = models.CharField(max_length=7, help_text="YYYY-MM")
    sequence = models.PositiveIntegerField(default=1)
    currency = models.CharField(max_length=3)
    total = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    payment_reference = models.CharField(max_length=100, blank=True)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "period", "currency", "sequence"], name="unique_invoice_per_buyer_period"
            )
        ]

    @property
    def number(self) -> str:
        return f"{self.period}-{self.buyer_id}-{self.currency}-{self.sequence}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    license = models.ForeignKey("marketplace.License", on_delete=models.PROTECT, related_name="invoice_lines")
    provider = models.ForeignKey("marketplace.Organization", on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=300)
    rows = models.PositiveBigIntegerField(default=0)
    bytes = models.PositiveBigIntegerField(default=0)
    amount_uncapped = models.BigIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["pk"]
