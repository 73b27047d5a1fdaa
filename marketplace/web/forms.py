from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from marketplace.models import Dataset
from marketplace.services.security import login_refusal


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150, label=_("Username"))
    email = forms.EmailField(required=False, label=_("Email"))
    organization = forms.CharField(max_length=200, label=_("Organisation name"))
    password = forms.CharField(widget=forms.PasswordInput, min_length=8, label=_("Password"))


class DatasetUploadForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Description"))
    modality = forms.ChoiceField(
        choices=Dataset.Modality.choices, initial=Dataset.Modality.TABULAR, label=_("Modality")
    )
    tags = forms.CharField(required=False, label=_("Tags"), help_text=_("Comma-separated, e.g. health, covid"))
    file = forms.FileField(label=_("File"), help_text=_("CSV, TSV, JSON, JSONL, Parquet or Excel (.xlsx)"))
    keep_raw = forms.BooleanField(required=False, label=_("Keep the raw upload for re-scrubbing"))

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class VersionUploadForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("CSV, TSV, JSON, JSONL, Parquet or Excel (.xlsx)"))
    keep_raw = forms.BooleanField(required=False, label=_("Keep the raw upload for re-scrubbing"))


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="pipeline", label=_("Name"))


class GuardedAuthenticationForm(AuthenticationForm):
    """The login form; says "too many attempts" when the guarded backend refused, rather than "wrong password"."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            refusal = login_refusal(self.request) if self.request is not None else None
            if refusal is not None:
                raise forms.ValidationError(refusal.message, code="throttled") from None
            raise


class GuardedAdminAuthenticationForm(AdminAuthenticationForm, GuardedAuthenticationForm):
    """The admin's login form with the same guard."""
