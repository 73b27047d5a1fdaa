from django.contrib import admin

from synthesis.models import SynthesisJob


@admin.register(SynthesisJob)
class SynthesisJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "organization", "method", "rows", "status", "output_version", "created_at"]
    list_filter = ["method", "job__status"]
    search_fields = ["organization__name"]
    list_select_related = ["organization", "job"]
    readonly_fields = [
        "job",
        "organization",
        "sources",
        "method",
        "rows",
        "params",
        "lineage",
        "output_version",
        "report",
        "created_at",
    ]

    @admin.display(ordering="job__status")
    def status(self, synthesis: SynthesisJob) -> str:
        return synthesis.job.status

    def has_add_permission(self, request) -> bool:
        return False
