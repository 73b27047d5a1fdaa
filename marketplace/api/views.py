"""API views: validate input, call a service or selector, serialize the result."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import authenticate
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import serializers as s
from marketplace.dataio import EXPORT_FORMATS, export_stream
from marketplace.errors import ApplicationError
from marketplace.models import DatasetVersion, Organization, UsageRecord
from marketplace.selectors.datasets import dataset_get_for_org, dataset_list_for_org, version_get_for_org
from marketplace.selectors.jobs import job_get_for_org, job_list_for_org
from marketplace.selectors.organizations import (
    api_token_get_for_user,
    api_token_list_for_user,
    membership_get,
    organization_for_user,
)
from marketplace.services.accounts import token_create, token_revoke, user_register
from marketplace.services.audit import audit_record
from marketplace.services.billing import usage_record
from marketplace.services.datasets import dataset_create, storage_is_local, version_rescrub, version_upload
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.jobs import job_cancel
from marketplace.services.security import login_refusal, signup_guard


def request_org(request: Request) -> Organization:
    org = organization_for_user(user=request.user)
    if org is None:
        raise PermissionDenied(
            gettext("Your account belongs to no organisation. Ask an organisation owner to add you.")
        )
    return org


def visible_version(request: Request, pk: int) -> tuple[Organization, DatasetVersion]:
    org = request_org(request)
    version = version_get_for_org(org=org, pk=pk)
    if version is None:
        audit_record(
            action="access.not_found",
            obj=pk,
            object_type="datasetversion",
            actor=request.user,
            organization=org,
            request=request,
            detail={"path": request.path},
        )
        raise NotFound(gettext("Dataset version not found. It does not exist or your organisation cannot see it."))
    return org, version


def require_entitlement(org: Organization, version: DatasetVersion, action: Action, request: Request | None = None):
    """403 with the reason unless allowed; a refusal is an audit event the provider sees."""
    decision = version_entitlement(org=org, version=version, action=action)
    if not decision.allowed:
        audit_record(
            action="access.refused",
            obj=version,
            actor=getattr(request, "user", None),
            organization=org,
            subject_organization=version.dataset.organization,
            request=request,
            detail={"action": str(action), "reason": decision.reason},
        )
        raise ApplicationError(decision.reason, extra={"action": str(action)}, status=403)
    return decision


class HealthApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: s.HealthOutputSerializer, 503: s.HealthOutputSerializer})
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:
            return Response({"status": "database unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"status": "ok"})


class RegisterApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=s.RegisterInputSerializer, responses={201: s.RegisterOutputSerializer})
    def post(self, request: Request) -> Response:
        signup_guard(request=request)
        data = s.RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        _, key = token_create(user=user, name="registration")
        org = organization_for_user(user=user)
        body = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "organization": s.OrganizationOutputSerializer(org).data,
            "token": key,
        }
        return Response(s.RegisterOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class TokenCreateApi(APIView):
    """Username and password for a token, through the guarded backend: per-address throttle, per-account lockout."""

    permission_classes = [AllowAny]

    @extend_schema(request=s.TokenInputSerializer, responses={200: s.TokenOutputSerializer})
    def post(self, request: Request) -> Response:
        data = s.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["username"], password=data.validated_data["password"])
        if user is None:
            raise login_refusal(request) or ApplicationError(gettext("Wrong username or password."), status=400)
        token, key = token_create(user=user, name=data.validated_data["name"])
        return Response({"token": key, "id": token.pk})


class TokenListApi(APIView):
    @extend_schema(responses={200: s.ApiTokenOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        tokens = api_token_list_for_user(user=request.user)
        return Response(s.ApiTokenOutputSerializer(tokens, many=True).data)


class TokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        token = api_token_get_for_user(user=request.user, pk=pk)
        if token is None:
            raise NotFound(gettext("Token not found."))
        token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: s.MeOutputSerializer})
    def get(self, request: Request) -> Response:
        org = organization_for_user(user=request.user)
        membership = membership_get(user=request.user, organization=org) if org else None
        body = {
            "id": request.user.pk,
            "username": request.user.username,
            "email": request.user.email,
            "organization": s.OrganizationOutputSerializer(org).data if org else None,
            "role": membership.role if membership else None,
        }
        return Response(body)


class DatasetListCreateApi(APIView):
    @extend_schema(responses={200: s.DatasetOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        datasets = dataset_list_for_org(org=request_org(request)).select_related("organization")
        return Response(s.DatasetOutputSerializer(datasets, many=True).data)

    @extend_schema(request=s.DatasetInputSerializer, responses={201: s.DatasetOutputSerializer})
    def post(self, request: Request) -> Response:
        org = request_org(request)
        data = s.DatasetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = dataset_create(organization=org, user=request.user, **data.validated_data)
        return Response(s.DatasetOutputSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(APIView):
    @extend_schema(responses={200: s.DatasetOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        dataset = dataset_get_for_org(org=request_org(request), pk=pk)
        if dataset is None:
            raise NotFound(gettext("Dataset not found. It does not exist or your organisation cannot see it."))
        return Response(s.DatasetOutputSerializer(dataset).data)


class VersionCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=s.VersionUploadInputSerializer, responses={202: s.VersionAcceptedSerializer})
    def post(self, request: Request, pk: int) -> Response:
        org = request_org(request)
        dataset = dataset_get_for_org(org=org, pk=pk)
        if dataset is None:
            raise NotFound(gettext("Dataset not found. It does not exist or your organisation cannot see it."))
        data = s.VersionUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = version_upload(
            dataset=dataset,
            user=request.user,
            upload=data.validated_data["file"],
            keep_raw=data.validated_data["keep_raw"],
            pii_policy=data.validated_data["pii_policy"],
        )
        body = {
            "id": version.pk,
            "dataset": dataset.pk,
            "number": version.number,
            "status": version.status,
            "job": version.job_id,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class VersionDetailApi(APIView):
    @extend_schema(responses={200: s.VersionOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        _, version = visible_version(request, pk)
        return Response(s.VersionOutputSerializer(version).data)


class VersionPreviewApi(APIView):
    @extend_schema(responses={200: s.PreviewOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        org, version = visible_version(request, pk)
        require_entitlement(org, version, Action.PREVIEW, request)
        audit_record(
            action="version.previewed",
            obj=version,
            actor=request.user,
            organization=org,
            subject_organization=version.dataset.organization,
            request=request,
        )
        return Response(version.preview or {"columns": [], "rows": []})


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


class VersionDownloadApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(EXPORT_FORMATS), default="csv"),
            OpenApiParameter(
                "redirect",
                OpenApiTypes.STR,
                enum=["0", "1"],
                default="1",
                description="With an S3 store, format=parquet answers 302 to a five-minute signed URL; 0 streams it.",
            ),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 302: None},
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse | HttpResponseRedirect:
        fmt = request.query_params.get("format", "csv").lower()
        if fmt not in EXPORT_FORMATS:
            raise ApplicationError(
                gettext("Unknown format %(fmt)r. Use one of: %(items)s.")
                % {"fmt": fmt, "items": ", ".join(EXPORT_FORMATS)}
            )
        org, version = visible_version(request, pk)
        decision = require_entitlement(org, version, Action.DOWNLOAD, request)
        event = audit_record(
            action="version.downloaded",
            obj=version,
            actor=request.user,
            organization=org,
            subject_organization=version.dataset.organization,
            request=request,
            detail={"format": fmt, "license": decision.license.pk if decision.license else None},
        )

        def meter(sent: int, how: str) -> None:
            """A licensed download is metered by the bytes it delivered (the owner's own data is not)."""
            if decision.license is not None and sent:
                usage_record(
                    key=f"download:{event.pk}",
                    license=decision.license,
                    version=version,
                    kind=UsageRecord.Kind.BYTES_DOWNLOADED,
                    quantity=sent,
                    subject_kind="download",
                    subject_name=how,
                )

        if fmt == "parquet" and not storage_is_local() and request.query_params.get("redirect", "1") != "0":
            # The store serves the canonical Parquet itself, byte for byte, through a URL signed for five minutes;
            # the entitlement was checked and the access audited above. Metered as the whole file.
            meter(default_storage.size(version.data_path), "parquet (presigned)")
            response = HttpResponseRedirect(default_storage.url(version.data_path))
            response["Cache-Control"] = "no-store"
            return response
        return version_download_response(version, fmt, usage=lambda sent: meter(sent, fmt))


def version_download_response(
    version: DatasetVersion, fmt: str, *, usage: Callable[[int], None] | None = None
) -> StreamingHttpResponse:
    """Stream the scrubbed data; the storage handle closes when the response is closed, and `usage` then learns how
    many bytes went out (a stream the client broke off counts what it received)."""
    handle = default_storage.open(version.data_path, "rb")

    def body():
        sent = 0
        try:
            for chunk in export_stream(handle, fmt):
                sent += len(chunk)
                yield chunk
        finally:
            handle.close()
            if usage is not None and sent:
                usage(sent)

    response = StreamingHttpResponse(body(), content_type=CONTENT_TYPES[fmt])
    filename = f"dataset-{version.dataset_id}-v{version.number}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-SHA256-Parquet"] = version.sha256
    return response


class VersionRescrubApi(APIView):
    @extend_schema(request=s.VersionRescrubInputSerializer, responses={202: s.VersionAcceptedSerializer})
    def post(self, request: Request, pk: int) -> Response:
        org, version = visible_version(request, pk)
        if version.dataset.organization_id != org.pk:
            raise ApplicationError(gettext("Only the dataset's own organisation can scrub it again."), status=403)
        data = s.VersionRescrubInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_version = version_rescrub(version=version, user=request.user, pii_policy=data.validated_data["pii_policy"])
        body = {
            "id": new_version.pk,
            "dataset": new_version.dataset_id,
            "number": new_version.number,
            "status": new_version.status,
            "job": new_version.job_id,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class JobListApi(APIView):
    @extend_schema(responses={200: s.JobOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        jobs = job_list_for_org(org=request_org(request))[:200]
        return Response(s.JobOutputSerializer(jobs, many=True).data)


class JobDetailApi(APIView):
    @extend_schema(responses={200: s.JobOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        job = job_get_for_org(org=request_org(request), pk=pk)
        if job is None:
            raise NotFound(gettext("Job not found."))
        return Response(s.JobOutputSerializer(job).data)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses={200: s.JobOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        job = job_get_for_org(org=request_org(request), pk=pk)
        if job is None:
            raise NotFound(gettext("Job not found."))
        if job.is_finished:
            raise ApplicationError(gettext("The job has already %(status)s.") % {"status": job.status}, status=409)
        return Response(s.JobOutputSerializer(job_cancel(job=job)).data)
