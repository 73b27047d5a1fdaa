"""Marketplace API: listings (provider), catalogue (anyone), purchases, licences, access requests, sales, audit."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import market_serializers as ms
from marketplace.api.views import request_org
from marketplace.errors import ApplicationError
from marketplace.models import AccessRequest, DatasetVersion, Organization
from marketplace.selectors.datasets import version_get_for_org
from marketplace.selectors.market import (
    access_request_list_for_org,
    audit_list_for_org,
    catalog_get,
    catalog_list,
    license_get_for_party,
    license_list_for_buyer,
    listing_get_for_org,
    listing_list_for_org,
    sales_for_provider,
)
from marketplace.selectors.organizations import organization_for_user, organization_list_by_pks
from marketplace.services.licensing import access_request_decide, license_revoke, listing_purchase
from marketplace.services.publishing import listing_create, listing_submit, listing_update, listing_update_version


class CatalogPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def _organizations(ids: list[int]) -> list[Organization]:
    orgs = organization_list_by_pks(pks=ids)
    if len(orgs) != len(set(ids)):
        raise ApplicationError(
            gettext("private_to names an organisation that does not exist."), extra={"field": "private_to"}
        )
    return orgs


def _plain(value: Any) -> Any:
    """Validated nested data as plain dicts (what the JSON fields store)."""
    return {key: _plain(item) for key, item in value.items()} if isinstance(value, dict) else value


def _own_version(org: Organization, pk: int) -> DatasetVersion:
    version = version_get_for_org(org=org, pk=pk)
    if version is None:
        raise ApplicationError(gettext("Dataset version not found."), extra={"field": "dataset_version"}, status=404)
    return version


class ListingListCreateApi(APIView):
    @extend_schema(responses={200: ms.ListingOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(ms.ListingOutputSerializer(listing_list_for_org(org=request_org(request)), many=True).data)

    @extend_schema(request=ms.ListingInputSerializer, responses={201: ms.ListingOutputSerializer})
    def post(self, request: Request) -> Response:
        org = request_org(request)
        data = ms.ListingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = _own_version(org, fields.pop("dataset_version"))
        fields["private_to"] = _organizations(fields.pop("private_to"))
        fields["terms"] = dict(fields.get("terms") or {})
        fields["pricing"] = _plain(fields.get("pricing") or {})
        listing = listing_create(organization=org, user=request.user, dataset_version=version, **fields)
        return Response(ms.ListingOutputSerializer(listing).data, status=status.HTTP_201_CREATED)


class OwnListingMixin:
    def _listing(self, request: Request, pk: int):
        listing = listing_get_for_org(org=request_org(request), pk=pk)
        if listing is None:
            raise NotFound(gettext("Listing not found."))
        return listing


class ListingDetailApi(OwnListingMixin, APIView):
    @extend_schema(responses={200: ms.ListingOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(ms.ListingOutputSerializer(self._listing(request, pk)).data)

    @extend_schema(request=ms.ListingPatchSerializer, responses={200: ms.ListingOutputSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        listing = self._listing(request, pk)
        data = ms.ListingPatchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "dataset_version" in fields:
            version = _own_version(listing.organization, fields.pop("dataset_version"))
            listing = listing_update_version(listing=listing, user=request.user, version=version)
        if "private_to" in fields:
            fields["private_to"] = _organizations(fields["private_to"])
        if "terms" in fields:
            fields["terms"] = dict(fields["terms"])
        if "pricing" in fields:
            fields["pricing"] = _plain(fields["pricing"])
        if fields:
            listing = listing_update(listing=listing, user=request.user, **fields)
        return Response(ms.ListingOutputSerializer(listing).data)


class ListingSubmitApi(OwnListingMixin, APIView):
    @extend_schema(request=None, responses={200: ms.ListingOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        listing = listing_submit(listing=self._listing(request, pk), user=request.user)
        return Response(ms.ListingOutputSerializer(listing).data)


class CatalogListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="v1_catalog_list",
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in (
                "search",
                "modality",
                "free",
                "download",
                "synthetic_derivatives",
                "model_training",
                "commercial_use",
                "tag",
                "plan",
                "trial",
                "ordering",
                "page",
                "page_size",
            )
        ],
        responses={200: ms.CatalogPageSerializer},
    )
    def get(self, request: Request) -> Response:
        org = organization_for_user(user=request.user)
        listings = catalog_list(org=org, params=request.query_params)
        paginator = CatalogPagination()
        page = paginator.paginate_queryset(listings, request, view=self)
        return paginator.get_paginated_response(ms.CatalogListSerializer(page, many=True).data)


class CatalogDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ms.CatalogDetailSerializer})
    def get(self, request: Request, pk: int) -> Response:
        listing = catalog_get(org=organization_for_user(user=request.user), pk=pk)
        if listing is None:
            raise NotFound(gettext("Listing not found."))
        return Response(ms.CatalogDetailSerializer(listing).data)


class ListingPurchaseApi(APIView):
    @extend_schema(
        request=ms.PurchaseInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        responses={201: ms.LicenseOutputSerializer, 202: ms.AccessRequestOutputSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        org = request_org(request)
        listing = catalog_get(org=org, pk=pk)
        if listing is None:
            raise NotFound(gettext("Listing not found."))
        data = ms.PurchaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result, created = listing_purchase(
            buyer=org,
            user=request.user,
            listing=listing,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            intended_use=data.validated_data["intended_use"],
            trial=data.validated_data["trial"],
            request=request,
        )
        if isinstance(result, AccessRequest):
            return Response(
                {"access_request": ms.AccessRequestOutputSerializer(result).data}, status=status.HTTP_202_ACCEPTED
            )
        return Response(
            {"license": ms.LicenseOutputSerializer(result).data, "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class LicenseListApi(APIView):
    @extend_schema(responses={200: ms.LicenseOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(ms.LicenseOutputSerializer(license_list_for_buyer(org=request_org(request)), many=True).data)


class LicenseRevokeApi(APIView):
    @extend_schema(request=ms.RevokeInputSerializer, responses={200: ms.LicenseOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """The provider revokes a licence on its own listing; what the buyer built under it stops with it."""
        org = request_org(request)
        license = license_get_for_party(org=org, pk=pk)
        if license is None:
            raise NotFound(gettext("Licence not found."))
        data = ms.RevokeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revoked = license_revoke(
            license=license,
            operator=request.user,
            organization=org,
            reason=data.validated_data["reason"],
            request=request,
        )
        return Response(ms.LicenseOutputSerializer(revoked).data)


class AccessRequestListApi(APIView):
    @extend_schema(responses={200: ms.AccessRequestOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        requests = access_request_list_for_org(org=request_org(request))
        return Response(ms.AccessRequestOutputSerializer(requests, many=True).data)


class AccessRequestDecideApi(APIView):
    approve = True

    @extend_schema(request=ms.DecisionInputSerializer, responses={200: ms.AccessRequestOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        org = request_org(request)
        access_request = access_request_list_for_org(org=org).filter(pk=pk).first()
        if access_request is None:
            raise NotFound(gettext("Access request not found."))
        if access_request.listing.organization_id != org.pk:
            raise ApplicationError(gettext("Only the provider decides on access requests."), status=403)
        data = ms.DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = access_request_decide(
            access_request=access_request,
            user=request.user,
            approve=self.approve,
            reason=data.validated_data["reason"],
            request=request,
        )
        return Response(ms.AccessRequestOutputSerializer(decided).data)


class AccessRequestDenyApi(AccessRequestDecideApi):
    approve = False


class SalesApi(APIView):
    @extend_schema(responses={200: ms.SalesOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(ms.SalesOutputSerializer(sales_for_provider(org=request_org(request))).data)


class AuditListApi(APIView):
    @extend_schema(responses={200: ms.AuditEventOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        events = audit_list_for_org(org=request_org(request))[:500]
        return Response(ms.AuditEventOutputSerializer(events, many=True).data)
