from django import forms
from django.contrib import admin

from marketplace.errors import ApplicationError
from training.models import BaseModel, TrainedModel, TrainingJob
from training.registry import BASE_MODELS, directory_spec


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


class BaseModelForm(forms.ModelForm):
    class Meta:
        model = BaseModel
        fields = ["name", "path", "description", "is_active"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("name") in BASE_MODELS:
            raise forms.ValidationError({"name": "This is the name of a built-in base model."})
        if data.get("name") and data.get("path"):
            try:
                directory_spec(data["name"], data["path"])
            except FileNotFoundError as exc:
                raise forms.ValidationError({"path": str(exc)}) from exc
        return data


@admin.register(BaseModel)
class BaseModelAdmin(admin.ModelAdmin):
    """Operators register local transformers directories here; they appear in /api/v1/base-models/."""

    form = BaseModelForm

    list_display = ["name", "path", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "path"]

    def save_model(self, request, obj: BaseModel, form, change: bool) -> None:
        try:
            # Imported here: training.services loads torch and transformers (3 s), and every management command loads
            # this module at start-up through the admin's autodiscovery.
            from training.services import base_model_save

            base_model_save(base_model=obj)
        except ApplicationError as exc:  # the form checked the same; a directory may vanish in between
            self.message_user(request, exc.message, level="error")
