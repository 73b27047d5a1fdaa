from django.db import models
from django.utils.translation import gettext_lazy as _


class Webhook(models.Model):
    """An organisation's endpoint subscribed to platform events; payloads are signed with `secret` (shown once)."""

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(help_text="Event types delivered to this endpoint, e.g. ['license.granted'].")
    secret = models.CharField(max_length=100, help_text="HMAC-SHA256 key of the Tessera-Signature header.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, with every attempt to deliver it (the log behind the redeliver button)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(help_text='{"id", "type", "created", "data"}: the body sent, byte for byte as JSON.')
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.JSONField(default=list, help_text="[{round, attempt, at, status_code, error, ms}] per attempt.")
    round = models.PositiveIntegerField(default=1, help_text="1, then one more per redelivery.")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["webhook", "event_id"], name="one_delivery_per_event")]
