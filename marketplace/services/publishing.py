"""Listings: draft -> pending_review -> published (or rejected) -> unlisted; updates move buyers to a new version."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from marketplace.errors import ApplicationError
from marketplace.models import DatasetVersion, License, Listing, Notification, Organization
from marketplace.pricing import plan_kind
from marketplace.services.audit import audit_record
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.webhooks import webhook_emit
from marketplace.terms import TermsError, terms_clean

# Ten billion in minor units; a price must fit the 64-bit column and the ledger's sums with room to spare.
MAX_PRICE = 10**12
EDITABLE_FIELDS = (
    "title",
    "summary",
    "description",
    "tags",
    "price",
    "currency",
    "terms",
    "pricing",
    "requires_approval",
)


def clean_terms(terms: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return terms_clean(terms)
    except TermsError as exc:
        raise ApplicationError(str(exc), extra={"field": "terms"}) from exc


def _check_version(*, organization: Organization, version: DatasetVersion) -> None:
    if version.dataset.organization_id != organization.pk:
        raise ApplicationError(gettext("You can only list dataset versions your organisation owns."), status=403)
    if version.status != DatasetVersion.Status.READY:
        raise ApplicationError(
            gettext("The version is %(status)s; only ready versions can be listed.") % {"status": version.status}
        )
    residual = (version.pii_report or {}).get("residual", {})
    for key, message in (
        (
            "untreated_identifier_columns",
            gettext_noop(
                "Column(s) %(names)s were left as they are but look like identifier columns. "
                "Scrub again with them hashed (or dropped), or keep them explicitly in the "
                "scrubbing policy if they identify nobody."
            ),
        ),
        (
            "unread_text_columns",
            gettext_noop(
                "Column(s) %(names)s hold free text in a script the scrubbing cannot read for names. Drop them, or "
                "check them and set their action to “redact” explicitly in the scrubbing policy."
            ),
        ),
    ):
        if blocked := residual.get(key) or []:
            names = ", ".join(repr(item["column"]) for item in blocked)
            raise ApplicationError(gettext(message) % {"names": names}, status=409, extra={key: blocked})
    if version.pii_report and not version.pii_report.get("publishable", True):
        raise ApplicationError(
            gettext(
                "Residual personal data in this version is above the threshold. Review the PII "
                "report, adjust the scrubbing policy and scrub again before listing it."
            ),
            status=409,
        )
    decision = version_entitlement(org=organization, version=version, action=Action.LIST)
    if not decision.allowed:
        raise ApplicationError(
            gettext("This version cannot be sold: %(reason)s") % {"reason": decision.reason}, status=403
        )


def _search_text(listing: Listing) -> str:
    columns = " ".join(c.get("name", "") for c in listing.dataset_version.schema or [])
    return " ".join([listing.title, listing.summary, listing.description, " ".join(listing.tags), columns]).lower()


def _whole(value: Any, *, field: str, low: int, high: int = MAX_PRICE, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ApplicationError(
            gettext("%(field)s must be a whole number from %(low)s to %(high)s.")
            % {"field": field, "low": low, "high": high},
            extra={"field": field},
        )
    return value


def pricing_clean(raw: Any) -> dict[str, Any]:
    """A listing's metered prices and trial offer, checked; see marketplace.pricing for what they mean."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict) or set(raw) - {"metered", "trial"}:
        raise ApplicationError(
            gettext("pricing is an object with the keys metered and trial."), extra={"field": "pricing"}
        )
    out: dict[str, Any] = {"metered": None, "trial": None}
    metered = raw.get("metered")
    if metered is not None:
        if not isinstance(metered, dict) or set(metered) - {"per_1k_rows", "per_gb", "monthly_cap"}:
            raise ApplicationError(
                gettext("pricing.metered takes per_1k_rows, per_gb and monthly_cap."),
                extra={"field": "pricing.metered"},
            )
        out["metered"] = {
            "per_1k_rows": _whole(metered.get("per_1k_rows", 0), field="pricing.metered.per_1k_rows", low=0),
            "per_gb": _whole(metered.get("per_gb", 0), field="pricing.metered.per_gb", low=0),
            "monthly_cap": _whole(
                metered.get("monthly_cap"), field="pricing.metered.monthly_cap", low=1, allow_none=True
            ),
        }
        if not out["metered"]["per_1k_rows"] and not out["metered"]["per_gb"]:
            raise ApplicationError(
                gettext("A metered plan needs a price per 1,000 rows or per GB (or both)."),
                extra={"field": "pricing.metered"},
            )
    trial = raw.get("trial")
    if trial is not None:
        if not isinstance(trial, dict) or set(trial) - {"days", "rows"}:
            raise ApplicationError(gettext("pricing.trial takes days and rows."), extra={"field": "pricing.trial"})
        out["trial"] = {
            "days": _whole(trial.get("days"), field="pricing.trial.days", low=1, high=365, allow_none=True),
            "rows": _whole(trial.get("rows"), field="pricing.trial.rows", low=1, allow_none=True),
        }
        if out["trial"]["days"] is None and out["trial"]["rows"] is None:
            raise ApplicationError(
                gettext("A trial is limited by days, by rows, or both."), extra={"field": "pricing.trial"}
            )
    return out


def _derive_plan(listing: Listing) -> None:
    pricing = listing.pricing or {}
    listing.plan_kind = plan_kind(
        price=listing.price, duration_days=listing.terms.get("duration_days"), metered=pricing.get("metered")
    )
    listing.has_trial = bool(pricing.get("trial"))


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "pricing" in out:
        out["pricing"] = pricing_clean(out["pricing"])
    if "terms" in out:
        out["terms"] = clean_terms(out["terms"])
    if "price" in out and (
        not isinstance(out["price"], int) or isinstance(out["price"], bool) or not 0 <= out["price"] <= MAX_PRICE
    ):
        raise ApplicationError(
            gettext("price must be a whole number of minor units (e.g. cents) from 0 to %(MAX_PRICE)s.")
            % {"MAX_PRICE": MAX_PRICE},
            extra={"field": "price"},
        )
    if "currency" in out:
        out["currency"] = str(out["currency"]).upper()
        if len(out["currency"]) != 3 or not out["currency"].isalpha():
            raise ApplicationError(gettext("currency must be a three-letter ISO code such as USD or EUR."))
    if "tags" in out:
        if not isinstance(out["tags"], list) or not all(isinstance(t, str) for t in out["tags"]):
            raise ApplicationError(gettext("tags must be a list of strings."))
        out["tags"] = list(dict.fromkeys(t.strip().lower() for t in out["tags"] if t.strip()))[:20]
    return out


@transaction.atomic
def listing_create(
    *,
    organization: Organization,
    user: AbstractBaseUser | None,
    dataset_version: DatasetVersion,
    title: str,
    summary: str = "",
    description: str = "",
    tags: list[str] | None = None,
    price: int = 0,
    currency: str = "USD",
    terms: dict[str, Any] | None = None,
    pricing: dict[str, Any] | None = None,
    requires_approval: bool = False,
    private_to: list[Organization] | None = None,
) -> Listing:
    _check_version(organization=organization, version=dataset_version)
    if not title.strip():
        raise ApplicationError(gettext("A listing needs a title."), extra={"field": "title"})
    fields = _clean_fields(
        {
            "title": title.strip()[:200],
            "summary": summary,
            "description": description,
            "tags": tags or [],
            "price": price,
            "currency": currency,
            "terms": terms or {},
            "pricing": pricing or {},
            "requires_approval": requires_approval,
        }
    )
    listing = Listing(organization=organization, created_by=user, dataset_version=dataset_version, **fields)
    _derive_plan(listing)
    listing.search_text = _search_text(listing)
    listing.save()
    if private_to:
        listing.private_to.set(private_to)
    audit_record(
        action="listing.created", obj=listing, actor=user, organization=organization, subject_organization=organization
    )
    return listing


@transaction.atomic
def listing_update(*, listing: Listing, user: AbstractBaseUser | None, **fields: Any) -> Listing:
    private_to = fields.pop("private_to", None)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            gettext("These fields cannot be changed: %(items)s.") % {"items": ", ".join(sorted(unknown))}
        )
    if listing.status == Listing.Status.PUBLISHED and {"price", "currency", "terms", "pricing"} & set(fields):
        # Buyers bought under the old terms (their licences keep a snapshot); new terms get a fresh review.
        listing.status = Listing.Status.PENDING_REVIEW if not settings.TESSERA_AUTO_APPROVE else listing.status
    for key, value in _clean_fields(fields).items():
        setattr(listing, key, value)
    _derive_plan(listing)
    listing.search_text = _search_text(listing)
    listing.save()
    if private_to is not None:
        listing.private_to.set(private_to)
    return listing


@transaction.atomic
def listing_submit(*, listing: Listing, user: AbstractBaseUser | None) -> Listing:
    if listing.status not in (Listing.Status.DRAFT, Listing.Status.REJECTED, Listing.Status.UNLISTED):
        raise ApplicationError(
            gettext("The listing is %(status)s; only drafts and rejected listings can be submitted.")
            % {"status": listing.status},
            status=409,
        )
    _check_version(organization=listing.organization, version=listing.dataset_version)
    if settings.TESSERA_AUTO_APPROVE:
        return _publish(listing=listing, actor=user, reason="auto-approved")
    listing.status, listing.review_reason = Listing.Status.PENDING_REVIEW, ""
    listing.save(update_fields=["status", "review_reason", "updated_at"])
    audit_record(
        action="listing.submitted",
        obj=listing,
        actor=user,
        organization=listing.organization,
        subject_organization=listing.organization,
    )
    return listing


def _publish(*, listing: Listing, actor: AbstractBaseUser | None, reason: str) -> Listing:
    listing.status, listing.review_reason = Listing.Status.PUBLISHED, ""
    listing.published_at = listing.published_at or timezone.now()
    listing.save(update_fields=["status", "review_reason", "published_at", "updated_at"])
    webhook_emit(
        organizations=[listing.organization],
        event_type="listing.approved",
        data={"listing": listing.pk, "title": listing.title, "reason": reason},
    )
    audit_record(
        action="listing.approved",
        obj=listing,
        actor=actor,
        subject_organization=listing.organization,
        detail={"reason": reason},
    )
    return listing


@transaction.atomic
def listing_approve(*, listing: Listing, operator: AbstractBaseUser | None) -> Listing:
    if listing.status != Listing.Status.PENDING_REVIEW:
        raise ApplicationError(
            gettext("The listing is %(status)s, not pending review.") % {"status": listing.status}, status=409
        )
    return _publish(listing=listing, actor=operator, reason="approved by an operator")


@transaction.atomic
def listing_reject(*, listing: Listing, operator: AbstractBaseUser | None, reason: str) -> Listing:
    if not reason.strip():
        raise ApplicationError(gettext("Give the provider a reason for the rejection."))
    listing.status, listing.review_reason = Listing.Status.REJECTED, reason.strip()
    listing.save(update_fields=["status", "review_reason", "updated_at"])
    webhook_emit(
        organizations=[listing.organization],
        event_type="listing.rejected",
        data={"listing": listing.pk, "title": listing.title, "reason": listing.review_reason},
    )
    audit_record(
        action="listing.rejected",
        obj=listing,
        actor=operator,
        subject_organization=listing.organization,
        detail={"reason": reason.strip()},
    )
    return listing


@transaction.atomic
def listing_unlist(*, listing: Listing, user: AbstractBaseUser | None) -> Listing:
    listing.status = Listing.Status.UNLISTED
    listing.save(update_fields=["status", "updated_at"])
    audit_record(
        action="listing.unlisted",
        obj=listing,
        actor=user,
        organization=listing.organization,
        subject_organization=listing.organization,
    )
    return listing


@transaction.atomic
def listing_update_version(*, listing: Listing, user: AbstractBaseUser | None, version: DatasetVersion) -> Listing:
    """Publish a newer version of the same dataset under the listing; active licensees get it and are told."""
    if version.dataset_id != listing.dataset_version.dataset_id:
        raise ApplicationError(gettext("The new version must belong to the same dataset as the listing."))
    if version.number <= listing.dataset_version.number:
        raise ApplicationError(gettext("The new version must be newer than the one listed."))
    _check_version(organization=listing.organization, version=version)
    listing.dataset_version = version
    listing.search_text = _search_text(listing)
    listing.save(update_fields=["dataset_version", "search_text", "updated_at"])
    buyers = License.objects.filter(listing=listing, status=License.Status.ACTIVE).values_list("buyer_id", flat=True)
    Notification.objects.bulk_create(
        Notification(
            organization_id=buyer_id,
            message=f"'{listing.title}' was updated to version {version.number}.",
            link=f"/versions/{version.pk}/",
        )
        for buyer_id in set(buyers)
    )
    webhook_emit(
        organizations=[listing.organization, *Organization.objects.filter(pk__in=set(buyers))],
        event_type="version.updated",
        data={"listing": listing.pk, "title": listing.title, "version": version.pk, "number": version.number},
    )
    audit_record(
        action="listing.version_updated",
        obj=listing,
        actor=user,
        organization=listing.organization,
        subject_organization=listing.organization,
        detail={"version": version.pk},
    )
    return listing
