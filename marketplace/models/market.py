from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Listing(models.Model):
    """One dataset version offered with a price and licence terms."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING_REVIEW = "pending_review", _("Pending review")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")
        UNLISTED = "unlisted", _("Unlisted")

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="listings")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    dataset_version = models.ForeignKey("marketplace.DatasetVersion", on_delete=models.PROTECT, related_name="listings")
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True, help_text="Markdown, rendered safely.")
    tags = models.JSONField(default=list, blank=True)
    price = models.PositiveBigIntegerField(default=0, help_text="Integer minor units (cents); 0 = free.")
    currency = models.CharField(max_length=3, default="USD")
    # {download, synthetic_derivatives, model_training, commercial_use: bool, duration_days: int | None}
    terms = models.JSONField(default=dict)
    # {"metered": {per_1k_rows, per_gb, monthly_cap} | None, "trial": {days, rows} | None}; see marketplace.pricing.
    pricing = models.JSONField(default=dict, blank=True)
    # Derived from price, terms and pricing by the publishing service, so the catalogue can filter on them.
    plan_kind = models.CharField(max_length=20, default="free", db_index=True)
    has_trial = models.BooleanField(default=False)
    requires_approval = models.BooleanField(default=False)
    private_to = models.ManyToManyField("marketplace.Organization", blank=True, related_name="private_offers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    review_reason = models.TextField(blank=True, help_text="Why the listing was rejected; shown to the provider.")
    search_text = models.TextField(blank=True, help_text="Title, summary, description, tags and column names.")
    purchase_count = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class License(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="licenses")
    buyer = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="licenses")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    dataset_version = models.ForeignKey("marketplace.DatasetVersion", on_delete=models.PROTECT, related_name="licenses")
    terms = models.JSONField(help_text="Snapshot of the listing's terms at purchase.")
    price = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200)
    intended_use = models.TextField(blank=True)
    payment_reference = models.CharField(max_length=100, blank=True)
    plan = models.JSONField(default=dict, blank=True, help_text="Snapshot of the listing's pricing plan at purchase.")
    is_trial = models.BooleanField(default=False)
    trial_rows = models.PositiveBigIntegerField(null=True, blank=True, help_text="Rows a trial may read; empty: any.")
    metered_suspended_reason = models.TextField(
        blank=True, help_text="Set when an invoice could not be charged: metered use stops until it is paid."
    )
    expiry_announced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "idempotency_key"], name="unique_license_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"Licence {self.pk}: {self.buyer} → {self.listing}"


class AccessRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="access_requests")
    buyer = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="access_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    intended_use = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200)
    license = models.OneToOneField(License, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "idempotency_key"], name="unique_access_request_idempotency_key")
        ]


class LedgerEntry(models.Model):
    """Double-entry style: the entries of one purchase sum to zero (buyer charge negative)."""

    class Kind(models.TextChoices):
        BUYER_CHARGE = "buyer_charge", _("Buyer charge")
        PROVIDER_PAYOUT = "provider_payout", _("Provider payout")
        PLATFORM_FEE = "platform_fee", _("Platform fee")

    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="ledger_entries")
    organization = models.ForeignKey(
        "marketplace.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty for the platform's own account.",
    )
    invoice = models.ForeignKey(
        "marketplace.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Signed integer minor units.")
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class AuditEvent(models.Model):
    """Append-only record of who did what with which data, and from where."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    organization = models.ForeignKey(
        "marketplace.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        help_text="The acting organisation.",
    )
    subject_organization = models.ForeignKey(
        "marketplace.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The organisation whose data was touched (the provider).",
    )
    action = models.CharField(max_length=50, db_index=True)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class Notification(models.Model):
    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=500)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
