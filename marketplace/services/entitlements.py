"""The one place that decides "may organisation X do action Y with version Z"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q

from marketplace.models import DatasetVersion, License, Listing, Organization


class Action(StrEnum):
    VIEW = "view"
    PREVIEW = "preview"
    DOWNLOAD = "download"
    SYNTHESIZE = "synthesize"
    TRAIN = "train"


# The licence term each action needs; VIEW and PREVIEW need none (the catalogue shows schema and preview).
ACTION_TERMS = {Action.DOWNLOAD: "download", Action.SYNTHESIZE: "synthetic_derivatives", Action.TRAIN: "model_training"}


@dataclass(frozen=True)
class Entitlement:
    allowed: bool
    reason: str
    license: License | None = None


def _licenses_covering(*, org: Organization, version: DatasetVersion) -> list[License]:
    """The org's licences whose listing is (or was bought at) this version; a listing update carries licences."""
    return list(
        License.objects.select_related("listing")
        .filter(buyer=org)
        .filter(Q(dataset_version=version) | Q(listing__dataset_version=version))
        .order_by("-created_at")
    )


def version_entitlement(*, org: Organization, version: DatasetVersion, action: Action) -> Entitlement:
    """Owners may do everything with their ready versions; others what an active licence's terms allow."""
    from marketplace.services.licensing import license_is_active, license_state, listing_visible_to

    ready = version.status == DatasetVersion.Status.READY
    if version.dataset.organization_id == org.pk:
        if action != Action.VIEW and not ready:
            return Entitlement(False, f"This version is {version.status}; it can be used once it is ready.")
        return Entitlement(True, "Your organisation owns this dataset.")
    licenses = _licenses_covering(org=org, version=version)
    active = [license for license in licenses if license_is_active(license)]
    if action in (Action.VIEW, Action.PREVIEW):
        listed = any(
            listing_visible_to(listing=listing, org=org) for listing in Listing.objects.filter(dataset_version=version)
        )
        if active or listed:
            return Entitlement(
                True, "Listed in the catalogue." if listed else "Licensed.", active[0] if active else None
            )
        if licenses:
            return Entitlement(False, _inactive_reason(licenses[0], license_state(licenses[0])), licenses[0])
        return Entitlement(False, "Your organisation has no licence for this dataset version.")
    if not active:
        if licenses:
            return Entitlement(False, _inactive_reason(licenses[0], license_state(licenses[0])), licenses[0])
        return Entitlement(False, "Your organisation has no licence for this dataset version.")
    term = ACTION_TERMS[action]
    allowing = [license for license in active if license.terms.get(term)]
    if allowing:
        return Entitlement(True, f"Licence {allowing[0].pk} allows {term.replace('_', ' ')}.", allowing[0])
    return Entitlement(False, f"Your licence ({active[0].pk}) does not allow {_term_words(term)}.", active[0])


def _term_words(term: str) -> str:
    return {
        "download": "downloading the data (it is compute-only)",
        "synthetic_derivatives": "generating synthetic data from it",
        "model_training": "training models on it",
    }[term]


def _inactive_reason(license: License, state: str) -> str:
    if state == "revoked":
        return f"Your licence {license.pk} was revoked: {license.revoked_reason}"
    return f"Your licence {license.pk} expired on {license.expires_at:%Y-%m-%d %H:%M} UTC. Renew it to continue."
