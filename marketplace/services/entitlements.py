"""The one place that decides "may organisation X do action Y with version Z"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

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
# The derivative kinds `derivative_entitlement` names, for the translation catalogue.
WHAT_WORDS = (gettext_noop("model"), gettext_noop("version"), gettext_noop("synthetic version"))
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
        return Entitlement(True, gettext("Your organisation owns this %(what)s.") % {"what": gettext(what)})
    for source in sources:
        if not license_is_active(source):
            reason = gettext("This %(what)s was built under %(licence)s") % {
                "what": gettext(what),
                "licence": _inactive_reason(source),
            }
            return Entitlement(False, reason, source)
    for term in ACTION_TERMS.get(action, ()):
        for source in sources:
            if not source.terms.get(term):
                reason = gettext(
                    "This %(what)s was built under licence %(pk)s (%(title)s), which does not allow %(refusal)s; its "
                    "derivatives inherit that term."
                ) % {
                    "what": gettext(what),
                    "pk": source.pk,
                    "title": _listing_title(source),
                    "refusal": gettext(term_refusal(term)),
                }
                return Entitlement(False, reason, source)
    if sources:
        return Entitlement(True, gettext("Every source licence of this %(what)s allows it.") % {"what": gettext(what)})
    return Entitlement(True, gettext("Your organisation owns this %(what)s.") % {"what": gettext(what)})


def version_entitlement(*, org: Organization, version: DatasetVersion, action: Action) -> Entitlement:
    """Owners may do with their ready versions what the licences they were built from allow (everything, for data
    they own outright); others what an active licence's terms allow."""
    ready = version.status == DatasetVersion.Status.READY
    if version.dataset.organization_id == org.pk:
        if action != Action.VIEW and not ready:
            return Entitlement(
                False,
                gettext("This version is %(status)s; it can be used once it is ready.")
                % {"status": str(version.get_status_display()).lower()},
            )
        what = "synthetic version" if version.is_synthetic else "version"
        return derivative_entitlement(sources=_built_under(version), action=action, what=what)
    if action == Action.LIST:
        return Entitlement(False, gettext("You can only list dataset versions your organisation owns."))
    licenses = _licenses_covering(org=org, version=version)
    active = [license for license in licenses if license_is_active(license)]
    if action in (Action.VIEW, Action.PREVIEW):
        listed = any(
            listing_visible_to(listing=listing, org=org) for listing in Listing.objects.filter(dataset_version=version)
        )
        if active or listed:
            return Entitlement(
                True,
                gettext("Listed in the catalogue.") if listed else gettext("Licensed."),
                active[0] if active else None,
            )
    if not active:
        if licenses:
            reason = gettext("You hold %(licence)s") % {"licence": _inactive_reason(licenses[0])}
            return Entitlement(False, reason, licenses[0])
        return Entitlement(False, gettext("Your organisation has no licence for this dataset version."))
    # A listed derivative (e.g. a provider's synthetic version) stops when a licence it was built under stops.
    upstream = derivative_entitlement(sources=_built_under(version), action=Action.PREDICT, what="version")
    if not upstream.allowed:
        return upstream
    terms = ACTION_TERMS.get(action, ())
    allowing = [license for license in active if all(license.terms.get(term) for term in terms)]
    if action in READING_ACTIONS and allowing:
        refusals = [license_use_refusal(license) for license in allowing]
        usable = [license for license, refusal in zip(allowing, refusals, strict=True) if refusal is None]
        if not usable:
            return Entitlement(False, refusals[0], allowing[0])
        allowing = usable
    if allowing:
        words = " and ".join(term.replace("_", " ") for term in terms) or "it"
        return Entitlement(True, f"Licence {allowing[0].pk} allows {words}.", allowing[0])
    refused = next(term for term in terms if not active[0].terms.get(term))
    reason = gettext("Your licence (%(pk)s) does not allow %(refusal)s.") % {
        "pk": active[0].pk,
        "refusal": gettext(term_refusal(refused)),
    }
    return Entitlement(False, reason, active[0])


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
        return gettext("licence %(pk)s (%(title)s), which was revoked: %(reason)s") % {
            "pk": license.pk,
            "title": _listing_title(license),
            "reason": license.revoked_reason,
        }
    return gettext("licence %(pk)s (%(title)s), which expired on %(date)s UTC. Renew it to continue.") % {
        "pk": license.pk,
        "title": _listing_title(license),
        "date": f"{license.expires_at:%Y-%m-%d %H:%M}",
    }
