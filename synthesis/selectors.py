from django.db.models import QuerySet

from marketplace.models import Organization
from synthesis.models import SynthesisJob


def synthesis_job_list_for_org(*, org: Organization) -> QuerySet[SynthesisJob]:
    return SynthesisJob.objects.filter(organization=org).select_related("job").prefetch_related("sources")


def synthesis_job_get_for_org(*, org: Organization, pk: int) -> SynthesisJob | None:
    return synthesis_job_list_for_org(org=org).filter(pk=pk).first()
