"""Server-rendered pages for providers and buyers; every write goes through a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from marketplace.errors import ApplicationError
from marketplace.models import Organization
from marketplace.selectors.datasets import (
    dataset_get_for_org,
    dataset_list_for_org,
    version_get_for_org,
    version_list_for_dataset,
)
from marketplace.selectors.market import (
    catalog_list,
    webhook_delivery_get_for_org,
    webhook_get_for_org,
    webhook_list_for_org,
)
from marketplace.selectors.organizations import api_token_get_for_user, api_token_list_for_user, organization_for_user
from marketplace.services.accounts import token_create, token_revoke, user_register
from marketplace.services.datasets import PII_ACTIONS, dataset_create, version_rescrub, version_upload
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.security import signup_guard
from marketplace.services.webhooks import EVENTS as WEBHOOK_EVENTS
from marketplace.services.webhooks import webhook_create, webhook_delete, webhook_redeliver
from marketplace.web.forms import DatasetUploadForm, SignupForm, TokenForm, VersionUploadForm

HOME_LISTINGS = 6  # listings in each of the home page's two rows


def _org(request: HttpRequest) -> Organization:
    org = organization_for_user(user=request.user)
    if org is None:
        raise Http404("Your account belongs to no organisation.")
    return org


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:dashboard")
    # What anyone may see in the catalogue: the newest listings and those licensed most often.
    newest = catalog_list(org=None, params={"ordering": "newest"})[:HOME_LISTINGS]
    popular = catalog_list(org=None, params={"ordering": "popularity"}).filter(purchase_count__gt=0)[:HOME_LISTINGS]
    return render(request, "marketplace/home.html", {"newest": newest, "popular": popular})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            signup_guard(request=request)
            user = user_register(**form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field") if exc.extra.get("field") in form.fields else None, exc.message)
        else:
            login(request, user, backend="marketplace.services.security.GuardedModelBackend")
            messages.success(request, gettext("Welcome to Tessera, %(name)s.") % {"name": user.username})
            return redirect("web:dashboard")
    return render(request, "marketplace/signup.html", {"form": form})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    datasets = dataset_list_for_org(org=org).prefetch_related("versions__job")
    return render(request, "marketplace/dashboard.html", {"datasets": datasets, "org": org})


@login_required
@require_http_methods(["GET", "POST"])
def dataset_new(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    form = DatasetUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                dataset = dataset_create(
                    organization=org,
                    user=request.user,
                    title=data["title"],
                    description=data["description"],
                    modality=data["modality"],
                    tags=data["tags"],
                )
                version = version_upload(
                    dataset=dataset, user=request.user, upload=data["file"], keep_raw=data["keep_raw"]
                )
        except ApplicationError as exc:
            form.add_error("file" if exc.extra.get("field") == "file" else None, exc.message)
        else:
            messages.info(request, gettext("Upload received. Scrubbing runs in the background."))
            return redirect("web:version", pk=version.pk)
    return render(request, "marketplace/dataset_new.html", {"form": form})


@login_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org(request)
    dataset = dataset_get_for_org(org=org, pk=pk)
    if dataset is None:
        raise Http404("Dataset not found.")
    return render(
        request,
        "marketplace/dataset_detail.html",
        {
            "dataset": dataset,
            "versions": version_list_for_dataset(dataset=dataset),
            "form": VersionUploadForm(),
        },
    )


@login_required
@require_POST
def version_new(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org(request)
    dataset = dataset_get_for_org(org=org, pk=pk)
    if dataset is None:
        raise Http404("Dataset not found.")
    form = VersionUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            version = version_upload(
                dataset=dataset,
                user=request.user,
                upload=form.cleaned_data["file"],
                keep_raw=form.cleaned_data["keep_raw"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("web:version", pk=version.pk)
    else:
        messages.error(request, gettext("Choose a file to upload."))
    return redirect("web:dataset", pk=dataset.pk)


def _version_context(request: HttpRequest, pk: int) -> dict:
    org = _org(request)
    version = version_get_for_org(org=org, pk=pk)
    if version is None:
        raise Http404("Dataset version not found.")
    return {
        "version": version,
        "job": version.job,
        "is_owner": version.dataset.organization_id == org.pk,
        "pii_actions": PII_ACTIONS,
        "may_download": version_entitlement(org=org, version=version, action=Action.DOWNLOAD).allowed,
        "may_preview": version_entitlement(org=org, version=version, action=Action.PREVIEW).allowed,
        "may_synthesize": version_entitlement(org=org, version=version, action=Action.SYNTHESIZE).allowed,
        "may_train": version_entitlement(org=org, version=version, action=Action.TRAIN).allowed,
    }


@login_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "marketplace/version_detail.html", _version_context(request, pk))


@login_required
def version_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The htmx-polled status fragment; once the version is finished it tells the page to reload fully."""
    context = _version_context(request, pk)
    response = render(request, "marketplace/_version_status.html", context)
    if context["version"].status != "processing" and request.GET.get("was") == "processing":
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _, new_key = token_create(user=request.user, name=form.cleaned_data["name"])
    return render(
        request,
        "marketplace/tokens.html",
        {
            "form": form,
            "tokens": api_token_list_for_user(user=request.user),
            "new_key": new_key,
        },
    )


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = api_token_get_for_user(user=request.user, pk=pk)
    if token is None:
        raise Http404("Token not found.")
    token_revoke(token=token)
    messages.success(request, gettext("Token %(prefix)s… revoked.") % {"prefix": token.prefix})
    return redirect("web:tokens")


@login_required
@require_POST
def version_rescrub_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Per-column overrides from the PII report form (`action__<column>` fields), scrubbed again as a new version."""
    org = _org(request)
    version = version_get_for_org(org=org, pk=pk)
    if version is None or version.dataset.organization_id != org.pk:
        raise Http404("Dataset version not found.")
    columns = {
        key.removeprefix("action__"): value
        for key, value in request.POST.items()
        if key.startswith("action__") and value
    }
    policy = {**(version.pii_policy or {}), "columns": columns}
    try:
        new_version = version_rescrub(version=version, user=request.user, pii_policy=policy)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("web:version", pk=version.pk)
    messages.info(
        request,
        gettext("Scrubbing again as v%(number)s with your column choices.") % {"number": new_version.number},
    )
    return redirect("web:version", pk=new_version.pk)


@login_required
@require_http_methods(["GET", "POST"])
def webhooks_page(request: HttpRequest) -> HttpResponse:
    """Subscribe endpoints to events (the secret is shown once), read each endpoint's deliveries, redeliver."""
    org = _org(request)
    created = None
    if request.method == "POST":
        try:
            created = webhook_create(
                organization=org, url=request.POST.get("url", "").strip(), events=request.POST.getlist("events")
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    hooks = [(hook, hook.deliveries.all()[:20]) for hook in webhook_list_for_org(org=org)]
    return render(request, "marketplace/webhooks.html", {"hooks": hooks, "events": WEBHOOK_EVENTS, "created": created})


@login_required
@require_POST
def webhook_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    webhook = webhook_get_for_org(org=_org(request), pk=pk)
    if webhook is None:
        raise Http404("Webhook not found.")
    webhook_delete(webhook=webhook)
    return redirect("web:webhooks")


@login_required
@require_POST
def webhook_redeliver_view(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    delivery = webhook_delivery_get_for_org(org=_org(request), webhook_pk=pk, pk=delivery_pk)
    if delivery is None:
        raise Http404("Delivery not found.")
    webhook_redeliver(delivery=delivery)
    messages.info(request, gettext("Event %(event)s queued again.") % {"event": delivery.event_type})
    return redirect("web:webhooks")
