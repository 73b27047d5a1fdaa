from marketplace.models.accounts import ApiToken, Membership, Organization
from marketplace.models.billing import Invoice, InvoiceLine, UsageRecord
from marketplace.models.datasets import Dataset, DatasetVersion
from marketplace.models.jobs import IngestChunk, Job
from marketplace.models.market import AccessRequest, AuditEvent, LedgerEntry, License, Listing, Notification
from marketplace.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "AccessRequest",
    "ApiToken",
    "AuditEvent",
    "Dataset",
    "DatasetVersion",
    "IngestChunk",
    "Invoice",
    "InvoiceLine",
    "Job",
    "LedgerEntry",
    "License",
    "Listing",
    "Membership",
    "Notification",
    "Organization",
    "UsageRecord",
    "Webhook",
    "WebhookDelivery",
]
