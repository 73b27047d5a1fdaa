"""Web pages of the marketplace: catalogue, listing page and licence flow, my licences, listings, sales, requests."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from marketplace.api.market_serializers import render_markdown
from marketplace.errors import ApplicationError
from marketplace.models import AccessRequest, DatasetVersion
from marketplace.selectors.billing import (
    invoice_get_for_buyer,
    invoice_list_for_buyer,
    royalties_for_provider,
    usage_list_for_org,
)
from marketplace.selectors.datasets import version_list_ready_for_org
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
from marketplace.selectors.organizations import organization_for_user
from marketplace.services.billing import invoice_retry
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.licensing import (
    access_request_decide,
    license_revoke,
    license_state,
    listing_plan_words,
    listing_purchase,
)
from marketplace.services.publishing import MAX_PRICE, listing_create, listing_submit, listing_unlist
from marketplace.terms import MAX_DURATION_DAYS, TERM_FLAGS, TERMS
from marketplace.web.term_words import terms_in_words
from marketplace.web.views import _org

PLAN_LABELS = {
    "free": _("Free"),
    "one_off": _("One-off price"),
    "subscription": _("Subscription"),
    "metered": _("Metered"),
    "base_plus_metered": _("Base fee plus metered"),
}


def catalog(request: HttpRequest) -> HttpResponse:
    org = organization_for_user(user=request.user) if request.user.is_authenticated else None
    listings = catalog_list(org=org, params=request.GET)[:100]
    term_filters = [
        {"name": term.name, "label": gettext(term.filter_label), "checked": request.GET.get(term.name) == "true"}
        for term in TERMS.values()
    ]
    return render(
        request,
        "marketplace/market/catalog.html",
        {"listings": listings, "q": request.GET, "term_filters": term_filters, "plan_kinds": PLAN_LABELS.items()},
    )


def catalog_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = organization_for_user(user=request.user) if request.user.is_authenticated else None
    listing = catalog_get(org=org, pk=pk)
    if listing is None:
        raise Http404("Listing not found.")
    licenses = [lic for lic in license_list_for_buyer(org=org).filter(listing=listing)] if org else []
    return render(
        request,
        "marketplace/market/listing.html",
        {
            "listing": listing,
            "version": listing.dataset_version,
            "terms": terms_in_words(listing.terms),
            "description_html": render_markdown(listing.description),
            "idempotency_key": uuid.uuid4().hex,
            "license": next((lic for lic in licenses if license_state(lic) == "active" and not lic.is_trial), None),
            "is_owner": org is not None and listing.organization_id == org.pk,
            "plan_words": listing_plan_words(listing),
            "had_trial": any(lic.is_trial for lic in licenses),
        },
    )


@login_required
@require_POST
def catalog_license(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org(request)
    listing = catalog_get(org=org, pk=pk)
    if listing is None:
        raise Http404("Listing not found.")
    try:
        result, created = listing_purchase(
            buyer=org,
            user=request.user,
            listing=listing,
            idempotency_key=request.POST.get("idempotency_key", ""),
            intended_use=request.POST.get("intended_use", ""),
            trial=request.POST.get("trial") == "1",
            request=request,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("web:catalog-detail", pk=pk)
    if isinstance(result, AccessRequest):
        messages.info(request, gettext("Access requested. The provider will approve or deny it."))
        return redirect("web:access-requests")
    messages.success(
        request, gettext("Licensed.") if created else gettext("You already hold an active licence for this listing.")
    )
    return redirect("web:licenses")


@login_required
def licenses(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    rows = []
    now = timezone.now()
    for license in license_list_for_buyer(org=org).select_related("listing__dataset_version"):
        version = license.listing.dataset_version
        rows.append(
            {
                "license": license,
                "state": (state := license_state(license)),
                "state_label": {"active": _("Active"), "expired": _("Expired"), "revoked": _("Revoked")}[state],
                "version": version,
                "remaining": (license.expires_at - now) if license.expires_at and license.expires_at > now else None,
                "may_download": version_entitlement(org=org, version=version, action=Action.DOWNLOAD).allowed,
            }
        )
    return render(
        request, "marketplace/market/licenses.html", {"rows": rows, "notifications": org.notifications.all()[:10]}
    )


class ListingForm(forms.Form):
    dataset_version = forms.ModelChoiceField(queryset=DatasetVersion.objects.none(), label=_("Dataset version"))
    title = forms.CharField(max_length=200, label=_("Title"))
    summary = forms.CharField(max_length=500, required=False, label=_("Summary"))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, label=_("Description"), help_text=_("Markdown")
    )
    tags = forms.CharField(required=False, label=_("Tags"), help_text=_("Comma-separated"))
    price = forms.IntegerField(
        min_value=0, max_value=MAX_PRICE, initial=0, label=_("Price"), help_text=_("In cents (minor units); 0 = free")
    )
    currency = forms.CharField(max_length=3, initial="USD", label=_("Currency"))
    duration_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DURATION_DAYS,
        label=_("Duration days"),
        help_text=_("Empty = perpetual"),
    )
    per_1k_rows = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        label=_("Metered: price per 1,000 rows used"),
        help_text=_("In cents; rows read by buyers' synthesis and training jobs, billed monthly"),
    )
    per_gb = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        label=_("Metered: price per GB downloaded"),
        help_text=_("In cents"),
    )
    monthly_cap = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PRICE,
        label=_("Metered: monthly cap"),
        help_text=_("In cents; empty = no cap"),
    )
    trial_days = forms.IntegerField(
        required=False, min_value=1, max_value=365, label=_("Free trial: days"), help_text=_("Empty = no trial")
    )
    trial_rows = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PRICE,
        label=_("Free trial: rows"),
        help_text=_("Rows a trial may read; empty = any"),
    )
    requires_approval = forms.BooleanField(required=False, label=_("Buyers must request access"))

    def pricing(self) -> dict:
        """The form's metered prices and trial as the listing's `pricing`."""
        data = self.cleaned_data
        pricing: dict = {}
        if data.get("per_1k_rows") or data.get("per_gb"):
            pricing["metered"] = {
                "per_1k_rows": data.get("per_1k_rows") or 0,
                "per_gb": data.get("per_gb") or 0,
                "monthly_cap": data.get("monthly_cap"),
            }
        if data.get("trial_days") or data.get("trial_rows"):
            pricing["trial"] = {"days": data.get("trial_days"), "rows": data.get("trial_rows")}
        return pricing

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # One checkbox per licence term, from the terms module, placed before the duration.
        fields = list(self.fields.items())
        at = [name for name, _ in fields].index("duration_days")
        terms = [
            (t.name, forms.BooleanField(required=False, initial=t.offered_by_default, label=gettext(t.allowed)))
            for t in TERMS.values()
        ]
        self.fields = dict(fields[:at] + terms + fields[at:])


@login_required
@require_http_methods(["GET", "POST"])
def listings(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    form = ListingForm(request.POST or None, initial={"dataset_version": request.GET.get("version")})
    form.fields["dataset_version"].queryset = version_list_ready_for_org(org=org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            listing = listing_create(
                organization=org,
                user=request.user,
                dataset_version=data["dataset_version"],
                title=data["title"],
                summary=data["summary"],
                description=data["description"],
                tags=[t.strip() for t in data["tags"].split(",") if t.strip()],
                price=data["price"],
                currency=data["currency"],
                requires_approval=data["requires_approval"],
                terms={key: data[key] for key in TERM_FLAGS} | {"duration_days": data["duration_days"]},
                pricing=form.pricing(),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                gettext("Listing '%(title)s' saved as a draft. Submit it for review when ready.")
                % {"title": listing.title},
            )
            return redirect("web:listings")
    template = (
        "marketplace/market/_listing_rows.html"
        if request.headers.get("HX-Request")
        else "marketplace/market/listings.html"
    )
    return render(request, template, {"form": form, "listings": listing_list_for_org(org=org)})


@login_required
@require_POST
def listing_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    org = _org(request)
    listing = listing_get_for_org(org=org, pk=pk)
    if listing is None:
        raise Http404("Listing not found.")
    try:
        if action == "submit":
            listing = listing_submit(listing=listing, user=request.user)
            messages.success(
                request,
                gettext("'%(title)s' is now: %(status)s.")
                % {"title": listing.title, "status": listing.get_status_display()},
            )
        elif action == "unlist":
            listing_unlist(listing=listing, user=request.user)
            messages.success(request, gettext("'%(title)s' is unlisted.") % {"title": listing.title})
        else:
            raise Http404("Unknown action.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("web:listings")


@login_required
def sales(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    data = sales_for_provider(org=org)
    accesses = audit_list_for_org(org=org).filter(subject_organization=org).exclude(organization=org)[:100]
    return render(
        request,
        "marketplace/market/sales.html",
        {
            "totals": data["totals"],
            "sales": data["sales"][:200],
            "royalties": royalties_for_provider(org=org),
            "usage": usage_list_for_org(org=org, role="provider")[:200],
            "accesses": accesses,
            "chart": {
                "labels": [d["date"] for d in data["by_day"]],
                "values": [d["revenue"] / 100 for d in data["by_day"]],
            },
        },
    )


@login_required
@require_POST
def sale_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org(request)
    license = license_get_for_party(org=org, pk=pk)
    if license is None:
        raise Http404("Licence not found.")
    try:
        license_revoke(
            license=license,
            operator=request.user,
            organization=org,
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext("Licence %(id)s revoked. What %(buyer)s built under it has stopped.")
            % {"id": license.pk, "buyer": license.buyer.name},
        )
    return redirect("web:sales")


@login_required
@require_http_methods(["GET", "POST"])
def access_requests(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    if request.method == "POST":
        access_request = access_request_list_for_org(org=org).filter(pk=request.POST.get("request")).first()
        if access_request is None or access_request.listing.organization_id != org.pk:
            raise Http404("Access request not found.")
        try:
            access_request_decide(
                access_request=access_request,
                user=request.user,
                approve=request.POST.get("decision") == "approve",
                reason=request.POST.get("reason", ""),
                request=request,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("web:access-requests")
    return render(
        request,
        "marketplace/market/access_requests.html",
        {
            "requests": access_request_list_for_org(org=org),
            "org": org,
        },
    )


@login_required
def billing(request: HttpRequest) -> HttpResponse:
    """The buyer's metered usage and invoices, with a way to pay a failed one."""
    org = _org(request)
    return render(
        request,
        "marketplace/market/billing.html",
        {
            "invoices": invoice_list_for_buyer(org=org)[:100],
            "usage": usage_list_for_org(org=org, role="buyer")[:200],
            "suspended": license_list_for_buyer(org=org).exclude(metered_suspended_reason=""),
        },
    )


@login_required
@require_POST
def invoice_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = invoice_get_for_buyer(org=_org(request), pk=pk)
    if invoice is None:
        raise Http404("Invoice not found.")
    try:
        invoice = invoice_retry(invoice=invoice)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if invoice.status == "paid":
            messages.success(request, gettext("Invoice %(number)s is paid.") % {"number": invoice.number})
        else:
            messages.error(request, invoice.failure_reason)
    return redirect("web:billing")
