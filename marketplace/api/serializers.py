"""API serializers; every name is unique so the OpenAPI schema stays unambiguous."""

import json

from django.utils.translation import get_language, gettext
from rest_framework import serializers

from marketplace.models import ApiToken, Dataset, DatasetVersion, Job, Organization
from marketplace.web.engine_words import translate


def engine_message(text: str) -> str:
    """A message that an engine or a worker wrote in English (job progress, failures, refusals), in the language the
    client asked for (`Accept-Language`) where the catalogue has it; in English exactly as written."""
    language = get_language() or "en"
    return text if language.startswith("en") else translate(text)


class EngineMessageField(serializers.CharField):
    """A read-only `engine_message`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return engine_message(super().to_representation(value))


class OrganizationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug"]


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, max_length=128)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    organization = serializers.CharField(max_length=200)


class RegisterOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    organization = OrganizationOutputSerializer()
    token = serializers.CharField()


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True)
    name = serializers.CharField(required=False, default="api", max_length=100)


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    id = serializers.IntegerField()


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    organization = OrganizationOutputSerializer(allow_null=True)
    role = serializers.CharField(allow_null=True)


class DatasetInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    modality = serializers.ChoiceField(choices=Dataset.Modality.choices, default=Dataset.Modality.TABULAR)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list, max_length=20
    )


class VersionSummarySerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = ["id", "number", "status", "progress", "row_count", "sha256", "created_at", "is_synthetic"]

    def get_progress(self, version: DatasetVersion) -> float:
        if version.status == DatasetVersion.Status.READY:
            return 1.0
        return version.job.progress if version.job_id else 0.0


class DatasetOutputSerializer(serializers.ModelSerializer):
    organization = OrganizationOutputSerializer()
    versions = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = ["id", "title", "description", "modality", "tags", "organization", "created_at", "versions"]

    def get_versions(self, dataset: Dataset) -> list[dict]:
        return VersionSummarySerializer(dataset.versions.select_related("job").order_by("-number"), many=True).data


class JsonStringOrObjectField(serializers.JSONField):
    """Multipart forms send JSON as a string; accept both that and a parsed object."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            if not data.strip():
                return {}
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise serializers.ValidationError(gettext("Not valid JSON: %(msg)s.") % {"msg": exc.msg}) from exc
        if not isinstance(data, dict):
            raise serializers.ValidationError(gettext("Must be a JSON object."))
        return data


class VersionUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    keep_raw = serializers.BooleanField(required=False, default=False)
    pii_policy = JsonStringOrObjectField(required=False, default=dict)


class VersionOutputSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_title = serializers.CharField(source="dataset.title")
    organization = serializers.CharField(source="dataset.organization.name")
    progress = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField()
    error = EngineMessageField()
    job = serializers.IntegerField(source="job_id", allow_null=True)

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "dataset",
            "dataset_title",
            "organization",
            "number",
            "status",
            "progress",
            "message",
            "error",
            "job",
            "original_filename",
            "source_format",
            "size_bytes",
            "row_count",
            "schema",
            "pii_report",
            "pii_policy",
            "sha256",
            "is_synthetic",
            "lineage",
            "created_at",
            "ready_at",
        ]

    def get_progress(self, version: DatasetVersion) -> float:
        if version.status == DatasetVersion.Status.READY:
            return 1.0
        return round(version.job.progress, 4) if version.job_id else 0.0

    def get_message(self, version: DatasetVersion) -> str:
        return engine_message(version.job.message) if version.job_id else ""


class VersionAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.CharField()
    job = serializers.IntegerField()


class PreviewOutputSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField())


class HealthOutputSerializer(serializers.Serializer):
    status = serializers.CharField()


class VersionRescrubInputSerializer(serializers.Serializer):
    pii_policy = JsonStringOrObjectField()


class JobOutputSerializer(serializers.ModelSerializer):
    message = EngineMessageField()
    error = EngineMessageField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "message",
            "error",
            "attempts",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
        ]
