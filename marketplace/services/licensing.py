"""Purchases: one licence and one balanced set of ledger entries per Idempotency-Key, however often it is sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from marketplace.errors import ApplicationError
from marketplace.models import (
    AccessRequest,
    LedgerEntry,
    License,
    Listing,
    Notification,
    Organization,
    UsageRecord,
)
from marketplace.pricing import plan_snapshot
from marketplace.services.audit import audit_record
from marketplace.services.payments import payment_gateway
from marketplace.services.webhooks import webhook_emit


def license_is_active(license: License) -> bool:
    """Expiry is decided at the moment of use, not by a periodic job."""
    return license.status == License.Status.ACTIVE and (
        license.expires_at is None or license.expires_at > timezone.now()
    )


def license_state(license: License) -> str:
    if license.status == License.Status.REVOKED:
        return "revoked"
    return "active" if license_is_active(license) else "expired"


def license_use_refusal(license: License) -> str | None:
    """Why an active licence may not be used to read more rows now, or None: its metered use is suspended (an
    unpaid invoice), or it is a trial whose rows are used up."""
    if license.metered_suspended_reason:
        return gettext("Metered use of licence %(pk)s is suspended: %(reason)s") % {
            "pk": license.pk,
            "reason": license.metered_suspended_reason,
        }
    if license.is_trial and license.trial_rows is not None:
        used = (
            UsageRecord.objects.filter(license=license, kind=UsageRecord.Kind.ROWS_READ).aggregate(n=Sum("quantity"))[
                "n"
            ]
            or 0
        )
        if used >= license.trial_rows:
            return gettext(
                "The trial licence %(pk)s covered %(rows)s rows and %(used)s have been read; buy the listing to go on."
            ) % {"pk": license.pk, "rows": f"{license.trial_rows:,}", "used": f"{used:,}"}
    return None


def listing_visible_to(*, listing: Listing, org: Organization | None) -> bool:
    if org is not None and listing.organization_id == org.pk:
        return True
    if listing.status != Listing.Status.PUBLISHED:
        return False
    private = list(listing.private_to.values_list("pk", flat=True))
    return not private or (org is not None and org.pk in private)


def _trial_start(
    *,
    listing: Listing,
    buyer: Organization,
    user: AbstractBaseUser | None,
    idempotency_key: str,
    request: HttpRequest | None,
) -> License:
    offer = (listing.pricing or {}).get("trial")
    if not offer:
        raise ApplicationError(gettext("This listing offers no trial."), extra={"field": "trial"}, status=409)
    earlier = License.objects.filter(buyer=buyer, listing=listing, is_trial=True).first()
    if earlier is not None:
        raise ApplicationError(
            gettext("Your organisation already had this listing's trial (licence %(pk)s); a trial is offered once.")
            % {"pk": earlier.pk},
            extra={"field": "trial", "license": earlier.pk},
            status=409,
        )
    revoked = License.objects.filter(buyer=buyer, listing=listing, status=License.Status.REVOKED).exists()
    if listing.requires_approval or revoked:
        # A revoked buyer must not get the data back through a trial: the provider decides, as for a purchase.
        raise ApplicationError(
            gettext("This listing requires the provider's approval; ask for access instead of a trial."),
            extra={"field": "trial"},
            status=409,
        )
    license = License.objects.create(
        listing=listing,
        buyer=buyer,
        created_by=user,
        dataset_version=listing.dataset_version,
        terms=dict(listing.terms),
        price=0,
        currency=listing.currency,
        expires_at=timezone.now() + timedelta(days=offer["days"]) if offer.get("days") else None,
        idempotency_key=idempotency_key,
        plan={**listing_plan(listing), "kind": "trial"},
        is_trial=True,
        trial_rows=offer.get("rows"),
    )
    _announce_grant(
        license=license, user=user, request=request, action="license.trial_started", detail={"trial": offer}
    )
    return license


def plan_words(plan: dict[str, Any]) -> list[str]:
    """A plan in plain words, one phrase per part, in the reader's language: what the catalogue and licences show."""
    from marketplace.templatetags.tessera import money

    currency = plan.get("currency") or "USD"
    words = []
    base, days = plan.get("base_fee") or 0, plan.get("duration_days")
    if base and days:
        words.append(gettext("%(price)s for %(days)s days") % {"price": money(base, currency), "days": days})
    elif base:
        words.append(gettext("%(price)s once") % {"price": money(base, currency)})
    metered = plan.get("metered")
    if metered:
        if metered.get("per_1k_rows"):
            words.append(gettext("%(price)s per 1,000 rows used") % {"price": money(metered["per_1k_rows"], currency)})
        if metered.get("per_gb"):
            words.append(gettext("%(price)s per GB downloaded") % {"price": money(metered["per_gb"], currency)})
        if metered.get("monthly_cap"):
            words.append(gettext("at most %(price)s a month") % {"price": money(metered["monthly_cap"], currency)})
    if not words:
        words.append(gettext("Free"))
    trial = plan.get("trial")
    if trial:
        limits = []
        if trial.get("days"):
            limits.append(gettext("%(days)s days") % {"days": trial["days"]})
        if trial.get("rows"):
            limits.append(gettext("%(rows)s rows") % {"rows": f"{trial['rows']:,}"})
        words.append(gettext("free trial: %(limits)s") % {"limits": ", ".join(limits)})
    return words


def listing_plan_words(listing: Listing) -> list[str]:
    return plan_words(listing_plan(listing))


def listing_plan(listing: Listing) -> dict[str, Any]:
    return plan_snapshot(
        price=listing.price,
        currency=listing.currency,
        duration_days=listing.terms.get("duration_days"),
        pricing=listing.pricing,
    )


def _active_license(*, buyer: Organization, listing: Listing) -> License | None:
    now = timezone.now()
    return (
        License.objects.filter(buyer=buyer, listing=listing, status=License.Status.ACTIVE, is_trial=False)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )


@transaction.atomic
def listing_purchase(
    *,
    buyer: Organization,
    user: AbstractBaseUser | None,
    listing: Listing,
    idempotency_key: str,
    intended_use: str = "",
    trial: bool = False,
    request: HttpRequest | None = None,
) -> tuple[License | AccessRequest, bool]:
    """Buy a licence (or file an access request where approval is required), or start the listing's trial (once per
    buyer organisation). Returns (object, created)."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise ApplicationError(gettext("Send an Idempotency-Key header (up to 200 characters) with every purchase."))
    if listing.organization_id == buyer.pk:
        raise ApplicationError(gettext("Your organisation owns this listing; there is nothing to buy."), status=409)
    # Lock the listing row: concurrent purchases of it queue here, so a repeated key finds the first one's licence.
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if not listing_visible_to(listing=listing, org=buyer):
        raise ApplicationError(gettext("This listing is not available."), status=404)

    existing = License.objects.filter(buyer=buyer, idempotency_key=key).first()
    if existing is not None:
        return existing, False
    pending = AccessRequest.objects.filter(buyer=buyer, idempotency_key=key).first()
    if pending is not None:
        return pending, False
    if trial:
        return _trial_start(listing=listing, buyer=buyer, user=user, idempotency_key=key, request=request), True
    active = _active_license(buyer=buyer, listing=listing)
    if active is not None and not active.is_trial:
        return active, False

    revoked = (
        License.objects.filter(buyer=buyer, listing=listing, status=License.Status.REVOKED).order_by("-pk").first()
    )
    if listing.requires_approval or revoked is not None:
        if not intended_use.strip():
            why = (
                f"Your licence {revoked.pk} for this listing was revoked ({revoked.revoked_reason}); the provider must "
                "approve a new one"
                if revoked is not None
                else "This listing requires approval"
            )
            raise ApplicationError(
                gettext("%(why)s: describe your intended use.") % {"why": why}, extra={"field": "intended_use"}
            )
        access_request = AccessRequest.objects.create(
            listing=listing, buyer=buyer, requested_by=user, intended_use=intended_use.strip(), idempotency_key=key
        )
        webhook_emit(
            organizations=[listing.organization],
            event_type="access_request.created",
            data={"access_request": access_request.pk, "listing": listing.pk, "buyer": buyer.name},
        )
        audit_record(
            action="access.requested",
            obj=access_request,
            actor=user,
            organization=buyer,
            subject_organization=listing.organization,
            request=request,
        )
        return access_request, True
    try:
        with transaction.atomic():
            license = _grant(
                listing=listing, buyer=buyer, user=user, idempotency_key=key, intended_use=intended_use, request=request
            )
    except IntegrityError:
        # The same key committed by a concurrent request that did not wait on the lock (another listing).
        return License.objects.get(buyer=buyer, idempotency_key=key), False
    return license, True


def _announce_grant(
    *,
    license: License,
    user: AbstractBaseUser | None,
    request: HttpRequest | None,
    action: str,
    detail: dict[str, Any],
) -> None:
    """A new licence, bought or a trial: `license.granted` to both parties and one audit event."""
    provider = license.listing.organization
    webhook_emit(organizations=[license.buyer, provider], event_type="license.granted", data=_license_data(license))
    audit_record(
        action=action,
        obj=license,
        actor=user,
        organization=license.buyer,
        subject_organization=provider,
        request=request,
        detail={"listing": license.listing_id, **detail},
    )


def _license_data(license: License) -> dict[str, Any]:
    return {
        "license": license.pk,
        "listing": license.listing_id,
        "version": license.dataset_version_id,
        "buyer": license.buyer.name,
        "status": license.status,
        "plan": license.plan.get("kind"),
        "expires_at": license.expires_at.isoformat() if license.expires_at else None,
    }


def _grant(
    *,
    listing: Listing,
    buyer: Organization,
    user: AbstractBaseUser | None,
    idempotency_key: str,
    intended_use: str,
    request: HttpRequest | None,
) -> License:
    reference = ""
    if listing.price > 0:
        charge = payment_gateway().charge(
            amount=listing.price, currency=listing.currency, payer_reference=buyer.slug, idempotency_key=idempotency_key
        )
        reference = charge.reference
    now = timezone.now()
    duration = listing.terms.get("duration_days")
    license = License.objects.create(
        listing=listing,
        buyer=buyer,
        created_by=user,
        dataset_version=listing.dataset_version,
        terms=dict(listing.terms),
        price=listing.price,
        currency=listing.currency,
        expires_at=now + timedelta(days=duration) if duration else None,
        idempotency_key=idempotency_key,
        intended_use=intended_use,
        payment_reference=reference,
        plan=listing_plan(listing),
    )
    fee = listing.price * settings.TESSERA_PLATFORM_FEE_BPS // 10_000
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                license=license,
                organization=buyer,
                kind=LedgerEntry.Kind.BUYER_CHARGE,
                amount=-listing.price,
                currency=listing.currency,
            ),
            LedgerEntry(
                license=license,
                organization=listing.organization,
                kind=LedgerEntry.Kind.PROVIDER_PAYOUT,
                amount=listing.price - fee,
                currency=listing.currency,
            ),
            LedgerEntry(
                license=license,
                organization=None,
                kind=LedgerEntry.Kind.PLATFORM_FEE,
                amount=fee,
                currency=listing.currency,
            ),
        ]
    )
    Listing.objects.filter(pk=listing.pk).update(purchase_count=F("purchase_count") + 1)
    _announce_grant(
        license=license,
        user=user,
        request=request,
        action="license.purchased",
        detail={"price": listing.price, "currency": listing.currency},
    )
    return license


@transaction.atomic
def access_request_decide(
    *,
    access_request: AccessRequest,
    user: AbstractBaseUser | None,
    approve: bool,
    reason: str = "",
    request: HttpRequest | None = None,
) -> AccessRequest:
    access_request = AccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if access_request.status != AccessRequest.Status.PENDING:
        raise ApplicationError(
            gettext("The request was already %(status)s.") % {"status": access_request.status}, status=409
        )
    if not approve and not reason.strip():
        raise ApplicationError(gettext("Tell the buyer why the request is denied."), extra={"field": "reason"})
    listing = Listing.objects.select_for_update().get(pk=access_request.listing_id)
    access_request.status = AccessRequest.Status.APPROVED if approve else AccessRequest.Status.DENIED
    access_request.reason, access_request.decided_at = reason.strip(), timezone.now()
    if approve:
        access_request.license = _grant(
            listing=listing,
            buyer=access_request.buyer,
            user=access_request.requested_by,
            idempotency_key=access_request.idempotency_key,
            intended_use=access_request.intended_use,
            request=request,
        )
    access_request.save()
    webhook_emit(
        organizations=[access_request.buyer, listing.organization],
        event_type="access_request.decided",
        data={
            "access_request": access_request.pk,
            "listing": listing.pk,
            "status": access_request.status,
            "reason": access_request.reason,
            "license": access_request.license_id,
        },
    )
    audit_record(
        action="access.approved" if approve else "access.denied",
        obj=access_request,
        actor=user,
        organization=listing.organization,
        subject_organization=listing.organization,
        request=request,
        detail={"reason": access_request.reason},
    )
    return access_request


@transaction.atomic
def license_revoke(
    *,
    license: License,
    operator: AbstractBaseUser | None,
    reason: str,
    organization: Organization | None = None,
    request: HttpRequest | None = None,
) -> License:
    """Revoke a licence (an operator, or the provider of its listing when `organization` is given).

    Nothing is copied or deleted: every entitlement check reads the licence's live state, so the buyer's synthetic
    versions and models built under it (`derived_versions`, `derived_models`) stop at their next use.
    """
    if not reason.strip():
        raise ApplicationError(
            gettext("Give a reason for the revocation; the buyer sees it."), extra={"field": "reason"}
        )
    license = License.objects.select_for_update().select_related("listing", "buyer").get(pk=license.pk)
    if organization is not None and license.listing.organization_id != organization.pk:
        raise ApplicationError(gettext("Only the provider of the listing can revoke this licence."), status=403)
    if license.status == License.Status.REVOKED:
        raise ApplicationError(
            gettext("Licence %(pk)s was already revoked: %(revoked_reason)s")
            % {"pk": license.pk, "revoked_reason": license.revoked_reason},
            status=409,
        )
    license.status, license.revoked_at, license.revoked_reason = License.Status.REVOKED, timezone.now(), reason.strip()
    license.save(update_fields=["status", "revoked_at", "revoked_reason"])
    derivatives = license_derivative_counts(license=license)
    webhook_emit(
        organizations=[license.buyer, license.listing.organization],
        event_type="license.revoked",
        data={**_license_data(license), "reason": license.revoked_reason, "derivatives": derivatives},
    )
    Notification.objects.create(
        organization=license.buyer,
        message=(
            f"Your licence {license.pk} for '{license.listing.title}' was revoked: {license.revoked_reason}. "
            f"{derivatives['synthetic_versions']} synthetic version(s) and {derivatives['models']} model(s) built "
            "under it can no longer be used."
        )[:500],
        link="/licenses/",
    )
    audit_record(
        action="license.revoked",
        obj=license,
        actor=operator,
        organization=organization or license.buyer,
        subject_organization=license.listing.organization,
        request=request,
        detail={"reason": license.revoked_reason, "by": "provider" if organization else "operator", **derivatives},
    )
    return license


def license_derivative_counts(*, license: License) -> dict[str, int]:
    """How many synthetic versions and models were built under a licence (transitively); the provider sees these."""
    return {"synthetic_versions": license.derived_versions.count(), "models": license.derived_models.count()}
