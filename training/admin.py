from django.contrib import admin

from training.models import TrainedModel, TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "organization", "base_model", "task", "status", "model", "created_at"]
    list_filter = ["task", "base_model", "job__status"]
    search_fields = ["organization__name"]
    list_select_related = ["organization", "job", "model"]
    readonly_fields = [f.name for f in TrainingJob._meta.fields]

    @admin.display(ordering="job__status")
    def status(self, training: TrainingJob) -> str:
        return training.job.status

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TrainedModel)
class TrainedModelAdmin(admin.ModelAdmin):
    list_display = ["pk", "name", "organization", "base_model", "task", "created_at"]
    list_filter = ["task", "base_model"]
    search_fields = ["name", "organization__name"]
    readonly_fields = [f.name for f in TrainedModel._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
