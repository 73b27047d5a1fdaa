"""The one place that decides "may organisation X do action Y with version Z"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q

from marketplace.models import DatasetVersion, License, Listing, Organization
from marketplace.services.licensing import license_is_active, license_state, license_use_refusal, listing_visible_to
from marketplace.terms import term_refusal


class Action(StrEnum):
    VIEW = "view"
    PREVIEW = "preview"
    DOWNLOAD = "download"
    SYNTHESIZE = "synthesize"
    TRAIN = "train"
    PREDICT = "predict"  # models: use on the platform
    LIST = "list"  # sell it in the catalogue


# The licence terms each action needs; VIEW, PREVIEW and PREDICT need none beyond live source licences.
ACTION_TERMS: dict[Action, tuple[str, ...]] = {
    Action.DOWNLOAD: ("download",),
    Action.SYNTHESIZE: ("synthetic_derivatives",),
    Action.TRAIN: ("model_training",),
    Action.LIST: ("commercial_use", "synthetic_derivatives"),
}
# Actions that read the licensed rows themselves, and so are metered (and stop with a suspended or spent licence).
READING_ACTIONS = frozenset({Action.DOWNLOAD, Action.SYNTHESIZE, Action.TRAIN})


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


def derivative_entitlement(*, sources: Iterable[License], action: Action, what: str) -> Entitlement:
    """What the owner of a derivative (a synthetic version, a model) may do: every licence it was built under must be
    active, and the action's terms must be granted by all of them (the most restrictive combination).

    `sources` are the derivative's transitive source licences; none means it rests on owned data only.
    """
    sources = list(sources)
    if action == Action.VIEW:
        return Entitlement(True, f"Your organisation owns this {what}.")
    for source in sources:
        if not license_is_active(source):
            return Entitlement(False, f"This {what} was built under {_inactive_reason(source)}", source)
    for term in ACTION_TERMS.get(action, ()):
        for source in sources:
            if not source.terms.get(term):
                return Entitlement(
                    False,
                    f"This {what} was built under licence {source.pk} ({_listing_title(source)}), which does not "
                    f"allow {term_refusal(term)}; its derivatives inherit that term.",
                    source,
                )
    if sources:
        return Entitlement(True, f"Every source licence of this {what} allows it.")
    return Entitlement(True, f"Your organisation owns this {what}.")


def version_entitlement(*, org: Organization, version: DatasetVersion, action: Action) -> Entitlement:
    """Owners may do with their ready versions what the licences they were built from allow (everything, for data
    they own outright); others what an active licence's terms allow."""
    ready = version.status == DatasetVersion.Status.READY
    if version.dataset.organization_id == org.pk:
        if action != Action.VIEW and not ready:
            return Entitlement(False, f"This version is {version.status}; it can be used once it is ready.")
        what = "synthetic version" if version.is_synthetic else "version"
        return derivative_entitlement(sources=_built_under(version), action=action, what=what)
    if action == Action.LIST:
        return Entitlement(False, "You can only list dataset versions your organisation owns.")
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
            return Entitlement(False, f"You hold {_inactive_reason(licenses[0])}", licenses[0])
        return Entitlement(False, "Your organisation has no licence for this dataset version.")
    if not active:
        if licenses:
            return Entitlement(False, f"You hold {_inactive_reason(licenses[0])}", licenses[0])
        return Entitlement(False, "Your organisation has no licence for this dataset version.")
    # A listed derivative (e.g. a provider's synthetic version) stops when a licence it was built under stops.
    upstream = derivative_entitlement(sources=_built_under(version), action=Action.PREDICT, what="version")
    if not upstream.allowed:
        return upstream
    terms = ACTION_TERMS.get(action, ())
    allowing = [license for license in active if all(license.terms.get(term) for term in terms)]
    if action in READING_ACTIONS and allowing:
        usable = [license for license in allowing if license_use_refusal(license) is None]
        if not usable:
            return Entitlement(False, license_use_refusal(allowing[0]) or "", allowing[0])
        allowing = usable
    if allowing:
        words = " and ".join(term.replace("_", " ") for term in terms) or "it"
        return Entitlement(True, f"Licence {allowing[0].pk} allows {words}.", allowing[0])
    refused = next(term for term in terms if not active[0].terms.get(term))
    return Entitlement(False, f"Your licence ({active[0].pk}) does not allow {term_refusal(refused)}.", active[0])


def version_source_licenses(*, version: DatasetVersion, license: License | None) -> list[License]:
    """The licences a derivative of `version` is built under: the licence it was used under (if any) plus every
    licence the version itself rests on, so lineage stays transitive through synthetic versions."""
    sources = _built_under(version)
    if license is not None and license not in sources:
        sources.insert(0, license)
    return sources


def _built_under(version: DatasetVersion) -> list[License]:
    """The licences a version was built under. Only synthesis sets them, so a real version costs no query (every
    download, preview and job checks an entitlement)."""
    return list(version.source_licenses.select_related("listing")) if version.is_synthetic else []


def _listing_title(license: License) -> str:
    return license.listing.title


def _inactive_reason(license: License) -> str:
    """Completes "Your ..." / "... was built under ...": which licence, what happened, and what to do."""
    if license_state(license) == "revoked":
        return f"licence {license.pk} ({_listing_title(license)}), which was revoked: {license.revoked_reason}"
    return (
        f"licence {license.pk} ({_listing_title(license)}), which expired on {license.expires_at:%Y-%m-%d %H:%M} UTC. "
        "Renew it to continue."
    )
