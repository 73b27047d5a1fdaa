"""The operator console: every model with the columns, filters and search an operator needs; jobs read-only."""

from django.contrib import admin

from marketplace.models import ApiToken, Dataset, DatasetVersion, Job, Membership, Organization


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
