"""The operator console: every model with the columns, filters and search an operator needs; jobs read-only."""

from django.contrib import admin, messages

from marketplace.errors import ApplicationError
from marketplace.models import (
    AccessRequest,
    ApiToken,
    AuditEvent,
    Dataset,
    DatasetVersion,
    Job,
    LedgerEntry,
    License,
    Listing,
    Membership,
    Notification,
    Organization,
)
from marketplace.web.forms import GuardedAdminAuthenticationForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit-style admin: operators read rows but never edit them behind the services' back."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created through the API or the web page, where they are shown once

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset) -> None:
        from marketplace.services.accounts import token_revoke

        for token in queryset:
            token_revoke(token=token)


class VersionInline(admin.TabularInline):
    model = DatasetVersion
    extra = 0
    fields = ["number", "status", "row_count", "sha256", "created_at"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "modality", "created_at"]
    list_filter = ["modality", "created_at"]
    search_fields = ["title", "description", "organization__name"]
    readonly_fields = ["created_at"]
    exclude = ["pii_salt"]
    inlines = [VersionInline]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "organization", "status", "source_format", "row_count", "is_synthetic", "created_at"]
    list_filter = ["status", "source_format", "is_synthetic", "created_at"]
    search_fields = ["dataset__title", "dataset__organization__name", "sha256", "original_filename"]
    list_select_related = ["dataset", "dataset__organization"]
    exclude = ["raw_path"]

    @admin.display(ordering="dataset__organization__name")
    def organization(self, version: DatasetVersion) -> str:
        return version.dataset.organization.name


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "kind",
        "organization",
        "status",
        "progress",
        "message",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status", "created_at"]
    search_fields = ["organization__name", "message", "error"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    """Operators approve or reject listings; a rejection needs the reason typed into 'review reason' first."""

    list_display = [
        "title",
        "organization",
        "status",
        "price",
        "currency",
        "requires_approval",
        "purchase_count",
        "published_at",
    ]
    list_filter = ["status", "requires_approval", "currency", "created_at"]
    search_fields = ["title", "summary", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = [
        "organization",
        "created_by",
        "dataset_version",
        "status",
        "search_text",
        "purchase_count",
        "published_at",
        "created_at",
        "updated_at",
    ]
    filter_horizontal = ["private_to"]
    actions = ["approve", "reject"]

    @admin.action(description="Approve selected listings (publish)")
    def approve(self, request, queryset) -> None:
        from marketplace.services.publishing import listing_approve

        for listing in queryset:
            try:
                listing_approve(listing=listing, operator=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{listing}: {exc.message}", level=messages.ERROR)

    @admin.action(description="Reject selected listings (uses each listing's review reason)")
    def reject(self, request, queryset) -> None:
        from marketplace.services.publishing import listing_reject

        for listing in queryset:
            try:
                listing_reject(listing=listing, operator=request.user, reason=listing.review_reason)
            except ApplicationError as exc:
                self.message_user(
                    request, f"{listing}: {exc.message} Edit the listing's review reason first.", level=messages.ERROR
                )


class LedgerInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "organization", "amount", "currency", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    """Operators revoke licences; type the reason into 'revoked reason', then run the action."""

    list_display = ["pk", "listing", "buyer", "status", "price", "currency", "expires_at", "created_at"]
    list_filter = ["status", "created_at", "expires_at"]
    search_fields = ["listing__title", "buyer__name", "idempotency_key"]
    list_select_related = ["listing", "buyer"]
    readonly_fields = [
        "listing",
        "buyer",
        "created_by",
        "dataset_version",
        "terms",
        "price",
        "currency",
        "status",
        "expires_at",
        "revoked_at",
        "idempotency_key",
        "intended_use",
        "payment_reference",
        "created_at",
    ]
    inlines = [LedgerInline]
    actions = ["revoke"]

    @admin.action(description="Revoke selected licences (uses each licence's revoked reason)")
    def revoke(self, request, queryset) -> None:
        from marketplace.services.licensing import license_revoke

        for license in queryset:
            try:
                license_revoke(license=license, operator=request.user, reason=license.revoked_reason)
            except ApplicationError as exc:
                self.message_user(request, f"Licence {license.pk}: {exc.message}", level=messages.ERROR)


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "listing", "buyer", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["listing__title", "buyer__name", "intended_use"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "license", "kind", "organization", "amount", "currency", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["organization__name"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "actor",
        "organization",
        "subject_organization",
        "object_type",
        "object_id",
        "ip",
    ]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["actor__username", "organization__name", "subject_organization__name", "object_id", "ip"]
    list_select_related = ["actor", "organization", "subject_organization"]
    date_hierarchy = "created_at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "message"]
    search_fields = ["organization__name", "message"]


# The admin's login goes through the same throttle and per-account lockout as the web and API logins.
admin.site.login_form = GuardedAdminAuthenticationForm
