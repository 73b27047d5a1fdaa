"""Synthesis jobs API: create (202), read with progress and report, list, cancel."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api.serializers import EngineMessageField
from marketplace.api.views import request_org
from marketplace.errors import ApplicationError
from marketplace.services.jobs import job_cancel
from synthesis.models import SynthesisJob
from synthesis.selectors import synthesis_job_get_for_org, synthesis_job_list_for_org
from synthesis.services import synthesis_job_create


class SynthesisJobInputSerializer(serializers.Serializer):
    sources = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=20)
    method = serializers.CharField(default="auto")
    rows = serializers.IntegerField(min_value=1, default=1000)
    params = serializers.DictField(required=False, default=dict)


class SynthesisJobOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="job.status")
    progress = serializers.FloatField(source="job.progress")
    message = EngineMessageField(source="job.message")
    error = EngineMessageField(source="job.error")
    sources = serializers.SerializerMethodField()

    class Meta:
        model = SynthesisJob
        fields = [
            "id",
            "status",
            "progress",
            "message",
            "error",
            "method",
            "rows",
            "params",
            "sources",
            "lineage",
            "output_version",
            "report",
            "created_at",
        ]

    def get_sources(self, synthesis: SynthesisJob) -> list[int]:
        return [v.pk for v in synthesis.sources.all()]


class SynthesisJobListCreateApi(APIView):
    @extend_schema(responses={200: SynthesisJobOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        jobs = synthesis_job_list_for_org(org=request_org(request))[:200]
        return Response(SynthesisJobOutputSerializer(jobs, many=True).data)

    @extend_schema(request=SynthesisJobInputSerializer, responses={202: SynthesisJobOutputSerializer})
    def post(self, request: Request) -> Response:
        data = SynthesisJobInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        synthesis = synthesis_job_create(organization=request_org(request), user=request.user, **data.validated_data)
        return Response(SynthesisJobOutputSerializer(synthesis).data, status=status.HTTP_202_ACCEPTED)


class SynthesisJobDetailApi(APIView):
    @extend_schema(responses={200: SynthesisJobOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        synthesis = synthesis_job_get_for_org(org=request_org(request), pk=pk)
        if synthesis is None:
            raise NotFound(gettext("Synthesis job not found."))
        return Response(SynthesisJobOutputSerializer(synthesis).data)


class SynthesisJobCancelApi(APIView):
    @extend_schema(request=None, responses={200: SynthesisJobOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        synthesis = synthesis_job_get_for_org(org=request_org(request), pk=pk)
        if synthesis is None:
            raise NotFound(gettext("Synthesis job not found."))
        if synthesis.job.is_finished:
            raise ApplicationError(
                gettext("The job has already %(status)s.") % {"status": synthesis.job.status}, status=409
            )
        job_cancel(job=synthesis.job)
        synthesis.refresh_from_db()
        return Response(SynthesisJobOutputSerializer(synthesis).data)
