from marketplace.models.accounts import ApiToken, Membership, Organization
from marketplace.models.datasets import Dataset, DatasetVersion
from marketplace.models.jobs import Job
from marketplace.models.market import AccessRequest, AuditEvent, LedgerEntry, License, Listing, Notification
from marketplace.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "AccessRequest",
    "ApiToken",
    "AuditEvent",
    "Dataset",
    "DatasetVersion",
    "Job",
    "LedgerEntry",
    "License",
    "Listing",
    "Membership",
    "Notification",
    "Organization",
    "Webhook",
    "WebhookDelivery",
]
