"""Reads of listings, the catalogue, licences, access requests, sales and audit events, scoped by organisation."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q, QuerySet, Sum

from marketplace.models import (
    AccessRequest,
    AuditEvent,
    LedgerEntry,
    License,
    Listing,
    Organization,
    Webhook,
    WebhookDelivery,
)
from marketplace.terms import TERM_FLAGS

ORDERINGS = {"newest": "-published_at", "price": "price", "-price": "-price", "popularity": "-purchase_count"}


def _truthy(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() in {"1", "true", "yes", "on"}


def catalog_list(*, org: Organization | None, params: dict[str, str]) -> QuerySet[Listing]:
    """Published listings the caller may see, searched, filtered and ordered; a fixed number of queries."""
    # PostgreSQL refuses NUL characters in text (a 500 from a query string); no title or tag holds one anyway.
    params = {key: str(params.get(key) or "").replace("\x00", "") for key in params}
    listings = Listing.objects.filter(status=Listing.Status.PUBLISHED).select_related(
        "organization", "dataset_version", "dataset_version__dataset"
    )
    visible = Q(private_to__isnull=True)
    if org is not None:
        visible |= Q(private_to=org) | Q(organization=org)
    listings = listings.filter(visible)
    for word in (params.get("search") or "").lower().split()[:10]:
        listings = listings.filter(search_text__contains=word)
    if params.get("modality"):
        listings = listings.filter(dataset_version__dataset__modality=params["modality"])
    free = _truthy(params.get("free"))
    if free is not None:
        listings = listings.filter(price=0) if free else listings.filter(price__gt=0)
    for term in TERM_FLAGS:
        wanted = _truthy(params.get(term))
        if wanted is not None:
            listings = listings.filter(**{f"terms__{term}": wanted})
    if params.get("tag"):
        listings = listings.filter(search_text__contains=params["tag"].lower())
    if params.get("plan"):
        listings = listings.filter(plan_kind__in=params["plan"].split(","))
    trial = _truthy(params.get("trial"))
    if trial is not None:
        listings = listings.filter(has_trial=trial)
    ordering = ORDERINGS.get(params.get("ordering") or "newest", "-published_at")
    return listings.distinct().order_by(ordering, "-pk")


def catalog_get(*, org: Organization | None, pk: int) -> Listing | None:
    return catalog_list(org=org, params={}).filter(pk=pk).first()


def listing_list_for_org(*, org: Organization) -> QuerySet[Listing]:
    return Listing.objects.filter(organization=org).select_related("organization").prefetch_related("private_to")


def listing_get_for_org(*, org: Organization, pk: int) -> Listing | None:
    return listing_list_for_org(org=org).filter(pk=pk).first()


def license_list_for_buyer(*, org: Organization) -> QuerySet[License]:
    return License.objects.filter(buyer=org).select_related("listing", "buyer", "dataset_version")


def license_get_for_party(*, org: Organization, pk: int) -> License | None:
    """A licence the org bought or sold; None (404) for anyone else."""
    return (
        License.objects.filter(Q(buyer=org) | Q(listing__organization=org), pk=pk)
        .select_related("listing", "buyer", "listing__organization")
        .first()
    )


def access_request_list_for_org(*, org: Organization) -> QuerySet[AccessRequest]:
    """Requests the org received as a provider and those it made as a buyer."""
    return AccessRequest.objects.filter(Q(listing__organization=org) | Q(buyer=org)).select_related("listing", "buyer")


def sales_for_provider(*, org: Organization) -> dict:
    sales = (
        License.objects.filter(listing__organization=org)
        .select_related("listing", "buyer")
        .annotate(
            derived_version_count=Count("derived_versions", distinct=True),
            derived_model_count=Count("derived_models", distinct=True),
        )
    )
    payouts = LedgerEntry.objects.filter(organization=org, kind=LedgerEntry.Kind.PROVIDER_PAYOUT)
    totals = {row["currency"]: row["total"] for row in payouts.values("currency").annotate(total=Sum("amount"))}
    by_day: dict[str, int] = defaultdict(int)
    for entry in payouts.only("amount", "created_at"):
        by_day[entry.created_at.date().isoformat()] += entry.amount
    return {
        "totals": {"licenses": sales.count(), "revenue": totals},
        "by_day": [{"date": day, "revenue": amount} for day, amount in sorted(by_day.items())],
        "sales": sales,
    }


def audit_list_for_org(*, org: Organization) -> QuerySet[AuditEvent]:
    """Events by the org, and events touching the org's data (who accessed what)."""
    return AuditEvent.objects.filter(Q(organization=org) | Q(subject_organization=org)).select_related(
        "actor", "organization"
    )


def webhook_list_for_org(*, org: Organization) -> QuerySet[Webhook]:
    return Webhook.objects.filter(organization=org)


def webhook_get_for_org(*, org: Organization, pk: int) -> Webhook | None:
    return webhook_list_for_org(org=org).filter(pk=pk).first()


def webhook_delivery_get_for_org(*, org: Organization, webhook_pk: int, pk: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(webhook__organization=org, webhook_id=webhook_pk, pk=pk).first()
