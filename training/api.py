"""Training API: base models, training jobs (create, read, cancel), models (card, predict, download)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api.serializers import EngineMessageField
from marketplace.api.views import request_org
from marketplace.errors import ApplicationError
from marketplace.services.audit import audit_record
from marketplace.services.jobs import job_cancel
from training.models import TrainedModel, TrainingJob, TrainingReceipt
from training.selectors import (
    model_get_for_org,
    model_list_for_org,
    receipt_get_for_org,
    receipt_list_for_org,
    training_job_get_for_org,
    training_job_list_for_org,
)
from training.services import (
    base_models_list,
    model_archive,
    model_card_markdown,
    model_compress_create,
    model_predict,
    model_source_license_states,
    receipt_public_key,
    training_job_create,
)


class MixItemSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    weight = serializers.FloatField(default=1.0, min_value=0.0001)


class TrainingJobInputSerializer(serializers.Serializer):
    base_model = serializers.CharField()
    task = serializers.CharField(default="text-classification")
    mix = MixItemSerializer(many=True, allow_empty=False)
    text_column = serializers.CharField(required=False, default="", allow_blank=True, help_text="Text, or prompt.")
    label_column = serializers.CharField(help_text="Label, or completion for causal-lm.")
    eval = serializers.DictField(required=False, default=dict, help_text="{version} or {holdout_fraction}")
    params = serializers.DictField(required=False, default=dict)
    baseline = serializers.BooleanField(required=False, default=False, help_text="Also train on the real rows alone.")


class TrainingJobOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="job.status")
    progress = serializers.FloatField(source="job.progress")
    message = EngineMessageField(source="job.message")
    error = EngineMessageField(source="job.error")

    class Meta:
        model = TrainingJob
        fields = [
            "id",
            "status",
            "progress",
            "message",
            "error",
            "base_model",
            "task",
            "mix",
            "text_column",
            "label_column",
            "evaluation",
            "params",
            "baseline",
            "metrics",
            "events",
            "model",
            "lineage",
            "created_at",
        ]


class TrainedModelOutputSerializer(serializers.ModelSerializer):
    card_markdown = serializers.SerializerMethodField()
    source_licenses = serializers.SerializerMethodField()
    receipt = serializers.SerializerMethodField()
    compressed = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = TrainedModel
        fields = [
            "id",
            "name",
            "base_model",
            "task",
            "labels",
            "metrics",
            "inherited_terms",
            "lineage",
            "card",
            "card_markdown",
            "source_licenses",
            "receipt",
            "teacher",
            "compressed",
            "created_at",
        ]

    def get_receipt(self, model: TrainedModel) -> str | None:
        """The id of the model's signed training receipt (GET /api/v1/receipts/{id}/)."""
        receipt = TrainingReceipt.objects.filter(model=model).values_list("pk", flat=True).first()
        return str(receipt) if receipt else None

    def get_source_licenses(self, model: TrainedModel) -> list[dict[str, Any]]:
        return model_source_license_states(model=model)

    def get_card_markdown(self, model: TrainedModel) -> str:
        return model_card_markdown(model)


class PredictInputSerializer(serializers.Serializer):
    inputs = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=256, help_text="Texts, prompts, or row objects."
    )


class PredictOutputSerializer(serializers.Serializer):
    predictions = serializers.ListField(child=serializers.DictField())


class BaseModelOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    tasks = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()
    description = serializers.CharField()


class BaseModelListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: BaseModelOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(base_models_list())


def _training(request: Request, pk: int) -> TrainingJob:
    training = training_job_get_for_org(org=request_org(request), pk=pk)
    if training is None:
        raise NotFound(gettext("Training job not found."))
    return training


def _model(request: Request, pk: int) -> TrainedModel:
    model = model_get_for_org(org=request_org(request), pk=pk)
    if model is None:
        raise NotFound(gettext("Model not found."))
    return model


class TrainingJobListCreateApi(APIView):
    @extend_schema(responses={200: TrainingJobOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        jobs = training_job_list_for_org(org=request_org(request))[:200]
        return Response(TrainingJobOutputSerializer(jobs, many=True).data)

    @extend_schema(request=TrainingJobInputSerializer, responses={202: TrainingJobOutputSerializer})
    def post(self, request: Request) -> Response:
        data = TrainingJobInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        training = training_job_create(
            organization=request_org(request),
            user=request.user,
            base_model=fields["base_model"],
            task=fields["task"],
            mix=[dict(item) for item in fields["mix"]],
            text_column=fields["text_column"],
            label_column=fields["label_column"],
            evaluation=fields["eval"] or None,
            params=fields["params"],
            baseline=fields["baseline"],
        )
        return Response(TrainingJobOutputSerializer(training).data, status=status.HTTP_202_ACCEPTED)


class TrainingJobDetailApi(APIView):
    @extend_schema(responses={200: TrainingJobOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(TrainingJobOutputSerializer(_training(request, pk)).data)


class TrainingJobCancelApi(APIView):
    @extend_schema(request=None, responses={200: TrainingJobOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        training = _training(request, pk)
        if training.job.is_finished:
            raise ApplicationError(
                gettext("The job has already %(status)s.") % {"status": training.job.status}, status=409
            )
        job_cancel(job=training.job)
        training.refresh_from_db()
        return Response(TrainingJobOutputSerializer(training).data)


class TrainedModelListApi(APIView):
    @extend_schema(responses={200: TrainedModelOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        models = model_list_for_org(org=request_org(request))[:200]
        return Response(TrainedModelOutputSerializer(models, many=True).data)


class TrainedModelDetailApi(APIView):
    @extend_schema(responses={200: TrainedModelOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(TrainedModelOutputSerializer(_model(request, pk)).data)


class TrainedModelPredictApi(APIView):
    @extend_schema(request=PredictInputSerializer, responses={200: PredictOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        model = _model(request, pk)
        data = PredictInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"predictions": model_predict(model=model, inputs=data.validated_data["inputs"])})


class TrainedModelDownloadApi(APIView):
    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> HttpResponse:
        model = _model(request, pk)
        archive = model_archive(model=model)
        audit_record(
            action="model.downloaded", obj=model, actor=request.user, organization=model.organization, request=request
        )
        response = HttpResponse(archive, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="model-{model.pk}.zip"'
        return response


class ReceiptOutputSerializer(serializers.Serializer):
    receipt = serializers.JSONField(help_text="The signed receipt; the signature covers its canonical JSON.")
    signature = serializers.CharField(help_text="Base64 Ed25519 signature.")


class PublicKeyOutputSerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the raw 32-byte Ed25519 public key.")


def _receipt_body(receipt: TrainingReceipt) -> dict[str, Any]:
    return {"receipt": receipt.payload, "signature": receipt.signature}


class ReceiptListApi(APIView):
    @extend_schema(responses={200: ReceiptOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Receipts of your models and of models trained on your data."""
        return Response([_receipt_body(r) for r in receipt_list_for_org(org=request_org(request))[:200]])


class ReceiptDetailApi(APIView):
    @extend_schema(responses={200: ReceiptOutputSerializer})
    def get(self, request: Request, pk) -> Response:
        receipt = receipt_get_for_org(org=request_org(request), pk=pk)
        if receipt is None:
            raise NotFound(gettext("Receipt not found."))
        return Response(_receipt_body(receipt))


class ReceiptPublicKeyApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PublicKeyOutputSerializer})
    def get(self, request: Request) -> Response:
        """The platform's public key: verify any receipt offline with it."""
        return Response(receipt_public_key())


class CompressInputSerializer(serializers.Serializer):
    method = serializers.CharField()
    params = serializers.DictField(required=False, default=dict)


class CompressOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.CharField()


class TrainedModelCompressApi(APIView):
    @extend_schema(request=CompressInputSerializer, responses={202: CompressOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Queue a smaller copy of the model: `int8` (quantized), or `distill` (a student with fewer layers trained on
        the model's soft labels; params `layers`, `width` (share of each layer's feed-forward units kept), `epochs`,
        `temperature`, `learning_rate`, `hard_label_weight`, `augment` (altered copies of each training text that
        the teacher labels; by default as many as bring a small training set near 2,300 texts, at most 8)).
        The job's result names the new model."""
        model = _model(request, pk)
        data = CompressInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = model_compress_create(model=model, user=request.user, **data.validated_data)
        return Response({"job": job.pk, "status": job.status}, status=status.HTTP_202_ACCEPTED)
