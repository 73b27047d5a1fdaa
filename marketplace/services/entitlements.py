"""The one place that decides "may organisation X do action Y with version Z"."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from marketplace.models import DatasetVersion, Organization


class Action(StrEnum):
    VIEW = "view"
    PREVIEW = "preview"
    DOWNLOAD = "download"
    SYNTHESIZE = "synthesize"
    TRAIN = "train"


@dataclass(frozen=True)
class Entitlement:
    allowed: bool
    reason: str


def version_entitlement(*, org: Organization, version: DatasetVersion, action: Action) -> Entitlement:
    """Owners may do everything with their ready versions; everyone else nothing (until licences say otherwise)."""
    if version.dataset.organization_id == org.pk:
        if action in (Action.PREVIEW, Action.DOWNLOAD, Action.SYNTHESIZE, Action.TRAIN) and (
            version.status != DatasetVersion.Status.READY
        ):
            return Entitlement(False, f"This version is {version.status}; it can be used once it is ready.")
        return Entitlement(True, "Your organisation owns this dataset.")
    return Entitlement(False, "Your organisation has no licence for this dataset version.")
