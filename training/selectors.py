"""Reads of training jobs and trained models, always scoped by the caller's organisation (None -> 404)."""

from django.db.models import Q, QuerySet

from marketplace.models import Organization
from training.models import TrainedModel, TrainingJob, TrainingReceipt


def training_job_list_for_org(*, org: Organization) -> QuerySet[TrainingJob]:
    return TrainingJob.objects.filter(organization=org).select_related("job")


def training_job_get_for_org(*, org: Organization, pk: int) -> TrainingJob | None:
    return training_job_list_for_org(org=org).filter(pk=pk).first()


def model_list_for_org(*, org: Organization) -> QuerySet[TrainedModel]:
    return TrainedModel.objects.filter(organization=org)


def model_get_for_org(*, org: Organization, pk: int) -> TrainedModel | None:
    return model_list_for_org(org=org).filter(pk=pk).first()


def receipt_list_for_org(*, org: Organization) -> QuerySet[TrainingReceipt]:
    """Receipts of the organisation's models and of models trained on its data (as a provider)."""
    return TrainingReceipt.objects.filter(Q(model__organization=org) | Q(providers=org)).distinct()


def receipt_get_for_org(*, org: Organization, pk) -> TrainingReceipt | None:
    return receipt_list_for_org(org=org).filter(pk=pk).first()
