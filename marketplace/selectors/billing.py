"""Reads of usage, invoices and royalties, scoped by organisation: a buyer sees what it used and was billed, a
provider what was used of its data (never the buyer's artifacts beyond their names and ids on its own data)."""

from __future__ import annotations

from django.db.models import Q, QuerySet, Sum

from marketplace.models import Invoice, Organization, UsageRecord


def usage_list_for_org(*, org: Organization, role: str | None = None) -> QuerySet[UsageRecord]:
    """Usage of the org as buyer, as provider, or both (`role` None)."""
    scope = {"buyer": Q(buyer=org), "provider": Q(provider=org)}.get(role or "", Q(buyer=org) | Q(provider=org))
    return UsageRecord.objects.filter(scope).select_related("buyer", "provider", "license__listing", "invoice")


def invoice_list_for_buyer(*, org: Organization) -> QuerySet[Invoice]:
    return Invoice.objects.filter(buyer=org).prefetch_related("lines", "lines__provider", "lines__license__listing")


def invoice_get_for_buyer(*, org: Organization, pk: int) -> Invoice | None:
    return invoice_list_for_buyer(org=org).filter(pk=pk).first()


def royalties_for_provider(*, org: Organization) -> list[dict]:
    """How many of the provider's rows went into each model (and each synthetic version) per buyer, and what the
    metered lines of its licences billed: one row per (buyer, what was built)."""
    rows = (
        UsageRecord.objects.filter(provider=org, kind=UsageRecord.Kind.ROWS_READ)
        .values("buyer__name", "subject_kind", "subject_id", "subject_name", "license_id", "license__listing__title")
        .annotate(rows=Sum("quantity"))
        .order_by("buyer__name", "subject_kind", "subject_id")
    )
    return [
        {
            "buyer": row["buyer__name"],
            "built": row["subject_kind"],
            "id": row["subject_id"],
            "name": row["subject_name"],
            "license": row["license_id"],
            "listing": row["license__listing__title"],
            "rows": row["rows"],
        }
        for row in rows
    ]
