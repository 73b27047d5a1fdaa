"""Reads of datasets and versions, always scoped by the caller's organisation (None -> 404)."""

from django.db.models import Count, Q, QuerySet

from marketplace.models import Dataset, DatasetVersion, Organization


def dataset_list_for_org(*, org: Organization) -> QuerySet[Dataset]:
    return Dataset.objects.filter(organization=org).annotate(version_count=Count("versions")).order_by("-created_at")


def dataset_get_for_org(*, org: Organization, pk: int) -> Dataset | None:
    return Dataset.objects.filter(organization=org, pk=pk).first()


def version_list_for_dataset(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    return dataset.versions.select_related("job").order_by("-number")


def version_list_ready_for_org(*, org: Organization) -> QuerySet[DatasetVersion]:
    """The organisation's own ready versions (what it may list)."""
    return DatasetVersion.objects.filter(dataset__organization=org, status=DatasetVersion.Status.READY).select_related(
        "dataset"
    )


def version_visibility_q(*, org: Organization) -> Q:
    """Versions an organisation may know exist: its own, those it holds (or held) a licence for, and those in a
    published listing it may see. Everything else answers 404."""
    public_listing = Q(listings__status="published") & (
        Q(listings__private_to__isnull=True) | Q(listings__private_to=org)
    )
    licensed = Q(licenses__buyer=org) | Q(listings__licenses__buyer=org)
    return Q(dataset__organization=org) | public_listing | licensed


def version_get_for_org(*, org: Organization | None, pk: int) -> DatasetVersion | None:
    if org is None:
        return None
    return (
        DatasetVersion.objects.select_related("dataset", "dataset__organization", "job")
        .filter(version_visibility_q(org=org), pk=pk)
        .distinct()
        .first()
    )


def version_list_usable(*, org: Organization, action: str) -> list[DatasetVersion]:
    """Ready versions the organisation may use for `action` (an entitlements.Action): its own, and those reached
    through a licence, including a licence carried to a listing's newer version. Forms list exactly these."""
    from marketplace.services.entitlements import version_entitlement

    own_or_licensed = Q(dataset__organization=org) | Q(licenses__buyer=org) | Q(listings__licenses__buyer=org)
    candidates = (
        DatasetVersion.objects.filter(own_or_licensed, status=DatasetVersion.Status.READY)
        .select_related("dataset", "dataset__organization")
        .distinct()
        .order_by("dataset__title", "-number")
    )
    return [v for v in candidates if version_entitlement(org=org, version=v, action=action).allowed]
