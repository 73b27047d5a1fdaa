"""Usage, invoices and royalties API, and each listing's Croissant metadata and data contract."""

from __future__ import annotations

import json

import yaml
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api.views import request_org
from marketplace.metadata import ListingFacts, croissant, data_contract
from marketplace.models import Invoice, InvoiceLine, Listing, UsageRecord
from marketplace.selectors.billing import (
    invoice_get_for_buyer,
    invoice_list_for_buyer,
    royalties_for_provider,
    usage_list_for_org,
)
from marketplace.selectors.market import catalog_get, listing_get_for_org
from marketplace.selectors.organizations import organization_for_user
from marketplace.services.billing import invoice_retry
from marketplace.services.licensing import listing_plan
from marketplace.terms import terms_in_words


class UsageOutputSerializer(serializers.ModelSerializer):
    buyer = serializers.CharField(source="buyer.name")
    provider = serializers.CharField(source="provider.name")
    listing_title = serializers.CharField(source="license.listing.title")

    class Meta:
        model = UsageRecord
        fields = [
            "id",
            "kind",
            "quantity",
            "license",
            "listing_title",
            "dataset_version",
            "buyer",
            "provider",
            "job",
            "subject_kind",
            "subject_id",
            "subject_name",
            "detail",
            "billable",
            "invoice",
            "created_at",
        ]


class InvoiceLineOutputSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider.name")

    class Meta:
        model = InvoiceLine
        fields = ["license", "provider", "description", "rows", "bytes", "amount_uncapped", "amount"]


class InvoiceOutputSerializer(serializers.ModelSerializer):
    lines = InvoiceLineOutputSerializer(many=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "period",
            "sequence",
            "currency",
            "total",
            "status",
            "payment_reference",
            "failure_reason",
            "attempts",
            "created_at",
            "paid_at",
            "lines",
        ]


class RoyaltyOutputSerializer(serializers.Serializer):
    buyer = serializers.CharField()
    built = serializers.CharField(help_text="model or synthetic_version")
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    license = serializers.IntegerField()
    listing = serializers.CharField()
    rows = serializers.IntegerField(help_text="Rows of your data read to build it (epochs counted).")


class UsageListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("role", str, enum=["buyer", "provider"], required=False)],
        responses={200: UsageOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        """What your organisation used (as a buyer) and what was used of its data (as a provider)."""
        records = usage_list_for_org(org=request_org(request), role=request.query_params.get("role"))[:1000]
        return Response(UsageOutputSerializer(records, many=True).data)


class InvoiceListApi(APIView):
    @extend_schema(responses={200: InvoiceOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(InvoiceOutputSerializer(invoice_list_for_buyer(org=request_org(request)), many=True).data)


def _invoice(request: Request, pk: int) -> Invoice:
    invoice = invoice_get_for_buyer(org=request_org(request), pk=pk)
    if invoice is None:
        raise NotFound(gettext("Invoice not found."))
    return invoice


class InvoiceDetailApi(APIView):
    @extend_schema(responses={200: InvoiceOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(InvoiceOutputSerializer(_invoice(request, pk)).data)


class InvoiceRetryApi(APIView):
    @extend_schema(request=None, responses={200: InvoiceOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Charge a failed invoice again; once paid, the metered use it suspended resumes."""
        invoice = invoice_retry(invoice=_invoice(request, pk))
        return Response(InvoiceOutputSerializer(invoice_get_for_buyer(org=request_org(request), pk=invoice.pk)).data)


class RoyaltiesApi(APIView):
    @extend_schema(responses={200: RoyaltyOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Per buyer and per model (or synthetic version) built, how many of your rows went in."""
        return Response(RoyaltyOutputSerializer(royalties_for_provider(org=request_org(request)), many=True).data)


def _listing_facts(request: Request, pk: int) -> ListingFacts:
    """Anyone who may see the listing in the catalogue (or its provider) may read its metadata."""
    org = organization_for_user(user=request.user)
    listing: Listing | None = catalog_get(org=org, pk=pk)
    if listing is None and org is not None:
        listing = listing_get_for_org(org=org, pk=pk)
    if listing is None:
        raise NotFound(gettext("Listing not found."))
    version = listing.dataset_version
    report = version.pii_report or {}
    return ListingFacts(
        listing_id=listing.pk,
        title=listing.title,
        summary=listing.summary,
        description=listing.description,
        provider=listing.organization.name,
        url=request.build_absolute_uri(reverse("web:catalog-detail", args=[listing.pk])),
        download_url=request.build_absolute_uri(reverse("api:version-download", args=[version.pk])) + "?format=parquet",
        version_id=version.pk,
        version_number=version.number,
        sha256=version.sha256,
        size_bytes=version.size_bytes,
        row_count=version.row_count,
        columns=list(version.schema or []),
        terms=dict(listing.terms),
        terms_words=[str(words) for _, words in terms_in_words(listing.terms)],
        plan=listing_plan(listing),
        pii_columns=[
            {"name": c.get("name"), "entities": c.get("entities") or [], "action": c.get("action")}
            for c in report.get("columns", [])
            if c.get("kind") != "safe"
        ],
        tags=list(listing.tags or []),
        is_synthetic=version.is_synthetic,
        published_at=listing.published_at.date().isoformat() if listing.published_at else None,
    )


class ListingCroissantApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "application/ld+json"): OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> HttpResponse:
        """The listing as MLCommons Croissant 1.0 JSON-LD."""
        body = json.dumps(croissant(_listing_facts(request, pk)), ensure_ascii=False, indent=2)
        return HttpResponse(body, content_type="application/ld+json; charset=utf-8")


class ListingContractApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "application/yaml"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> HttpResponse:
        """The listing as an Open Data Contract Standard v3 data contract (YAML)."""
        body = yaml.safe_dump(data_contract(_listing_facts(request, pk)), allow_unicode=True, sort_keys=False)
        return HttpResponse(body, content_type="application/yaml; charset=utf-8")
