from django.db.models import QuerySet

from marketplace.models import Job, Organization


def job_list_for_org(*, org: Organization) -> QuerySet[Job]:
    return Job.objects.filter(organization=org).order_by("-created_at")


def job_get_for_org(*, org: Organization, pk: int) -> Job | None:
    return Job.objects.filter(organization=org, pk=pk).first()
