"""Serializers of the marketplace proper: listings, catalogue, licences, access requests, sales, audit."""

import markdown
import nh3
from django.utils.translation import gettext
from rest_framework import serializers

from marketplace.models import AccessRequest, AuditEvent, License, Listing
from marketplace.services.licensing import license_state, listing_plan_words
from marketplace.services.publishing import MAX_PRICE

MAX_ID = 2**63 - 1  # primary keys are 64-bit: a larger id is a 400, not a database error

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}


def render_markdown(text: str) -> str:
    """Markdown to HTML with everything but a small safe subset of tags stripped (no scripts, no event handlers)."""
    return nh3.clean(
        markdown.markdown(text or "", extensions=["tables"]),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
    )


class TermsSerializer(serializers.Serializer):
    download = serializers.BooleanField(default=False)
    synthetic_derivatives = serializers.BooleanField(default=False)
    model_training = serializers.BooleanField(default=False)
    commercial_use = serializers.BooleanField(default=False)
    duration_days = serializers.IntegerField(allow_null=True, required=False, default=None, min_value=1)


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so a misspelt price is an error rather than a free listing."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                {
                    key: [gettext("Unknown field; expected one of: %(fields)s.") % {"fields": ", ".join(self.fields)}]
                    for key in unknown
                }
            )
        return super().to_internal_value(data)


class MeteredPricingSerializer(StrictSerializer):
    per_1k_rows = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, default=0, help_text="Minor units.")
    per_gb = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, default=0, help_text="Minor units per GB.")
    monthly_cap = serializers.IntegerField(min_value=1, max_value=MAX_PRICE, allow_null=True, required=False)


class TrialSerializer(StrictSerializer):
    days = serializers.IntegerField(min_value=1, max_value=365, allow_null=True, required=False)
    rows = serializers.IntegerField(min_value=1, max_value=MAX_PRICE, allow_null=True, required=False)


class PricingSerializer(StrictSerializer):
    """Metered prices (per 1,000 rows read by jobs, per GB downloaded, optional monthly cap) and a trial offer."""

    metered = MeteredPricingSerializer(required=False, allow_null=True)
    trial = TrialSerializer(required=False, allow_null=True)


class ListingInputSerializer(serializers.Serializer):
    dataset_version = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    price = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, default=0)
    currency = serializers.CharField(max_length=3, default="USD")
    terms = TermsSerializer(required=False)
    pricing = PricingSerializer(required=False)
    requires_approval = serializers.BooleanField(default=False)
    private_to = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, default=list, max_length=100
    )


class ListingPatchSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    price = serializers.IntegerField(min_value=0, max_value=MAX_PRICE, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    terms = TermsSerializer(required=False)
    pricing = PricingSerializer(required=False)
    requires_approval = serializers.BooleanField(required=False)
    private_to = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=100
    )
    dataset_version = serializers.IntegerField(required=False, help_text="Publish a newer version as an update.")


class ListingOutputSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="organization.name")
    private_to = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = [
            "id",
            "dataset_version",
            "title",
            "summary",
            "description",
            "tags",
            "price",
            "currency",
            "terms",
            "pricing",
            "plan_kind",
            "requires_approval",
            "private_to",
            "status",
            "review_reason",
            "provider",
            "purchase_count",
            "published_at",
            "created_at",
            "updated_at",
        ]

    def get_private_to(self, listing: Listing) -> list[int]:
        return [org.pk for org in listing.private_to.all()]


class CatalogListSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="organization.name")
    modality = serializers.CharField(source="dataset_version.dataset.modality")
    row_count = serializers.IntegerField(source="dataset_version.row_count")
    plan_words = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = [
            "id",
            "title",
            "summary",
            "tags",
            "price",
            "currency",
            "terms",
            "pricing",
            "plan_kind",
            "has_trial",
            "plan_words",
            "requires_approval",
            "provider",
            "modality",
            "row_count",
            "purchase_count",
            "published_at",
        ]

    def get_plan_words(self, listing: Listing) -> list[str]:
        return listing_plan_words(listing)


class CatalogDetailSerializer(CatalogListSerializer):
    description_html = serializers.SerializerMethodField()
    schema = serializers.JSONField(source="dataset_version.schema")
    preview = serializers.JSONField(source="dataset_version.preview")
    sha256 = serializers.CharField(source="dataset_version.sha256")
    dataset_version = serializers.IntegerField(source="dataset_version_id")
    pii_summary = serializers.SerializerMethodField()

    class Meta(CatalogListSerializer.Meta):
        fields = [
            *CatalogListSerializer.Meta.fields,
            "description",
            "description_html",
            "schema",
            "preview",
            "sha256",
            "dataset_version",
            "pii_summary",
        ]

    def get_description_html(self, listing: Listing) -> str:
        return render_markdown(listing.description)

    def get_pii_summary(self, listing: Listing) -> list[dict]:
        report = listing.dataset_version.pii_report or {}
        return [
            {key: column.get(key) for key in ("name", "kind", "entities", "action", "count")}
            for column in report.get("columns", [])
            if column.get("kind") != "safe" or column.get("count")
        ]


class PurchaseInputSerializer(serializers.Serializer):
    intended_use = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    trial = serializers.BooleanField(default=False, help_text="Start the listing's trial (once per organisation).")


class LicenseOutputSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    listing_title = serializers.CharField(source="listing.title")
    buyer = serializers.CharField(source="buyer.name")

    class Meta:
        model = License
        fields = [
            "id",
            "listing",
            "listing_title",
            "buyer",
            "dataset_version",
            "status",
            "terms",
            "price",
            "currency",
            "expires_at",
            "revoked_reason",
            "intended_use",
            "plan",
            "is_trial",
            "trial_rows",
            "metered_suspended_reason",
            "created_at",
        ]

    def get_status(self, license: License) -> str:
        return license_state(license)


class AccessRequestOutputSerializer(serializers.ModelSerializer):
    buyer = serializers.CharField(source="buyer.name")
    listing_title = serializers.CharField(source="listing.title")

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "listing",
            "listing_title",
            "buyer",
            "intended_use",
            "status",
            "reason",
            "license",
            "created_at",
            "decided_at",
        ]


class DecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class AuditEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    organization = serializers.CharField(source="organization.name", allow_null=True, default=None)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "organization", "action", "object_type", "object_id", "ip", "detail"]


class CatalogPageSerializer(serializers.Serializer):
    """What GET /catalog/ answers: one page of listings and the links to the next and previous ones."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CatalogListSerializer(many=True)


class SaleOutputSerializer(LicenseOutputSerializer):
    derivatives = serializers.SerializerMethodField()

    class Meta(LicenseOutputSerializer.Meta):
        fields = [*LicenseOutputSerializer.Meta.fields, "derivatives"]

    def get_derivatives(self, license: License) -> dict[str, int]:
        """What the buyer built under this licence (counted, not shown: the buyer's artifacts stay private)."""
        return {"synthetic_versions": license.derived_version_count, "models": license.derived_model_count}


class SalesOutputSerializer(serializers.Serializer):
    totals = serializers.JSONField()
    by_day = serializers.JSONField()
    sales = SaleOutputSerializer(many=True)


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why; the buyer sees it.")
