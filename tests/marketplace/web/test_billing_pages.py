"""Plans, trials, usage, invoices and royalties on the web pages."""

from django.test import Client
from django.utils import timezone

from marketplace.models import License, Listing
from marketplace.services.billing import billing_run, usage_record
from marketplace.services.licensing import listing_purchase
from tests.conftest import PASSWORD, _persona, make_listing, make_ready_version, org_of


def _login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_a_provider_prices_a_listing_with_metered_use_and_a_trial_from_the_form(
    provider, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    response = _login(provider).post(
        "/listings/",
        {
            "dataset_version": version.pk,
            "title": "Metered table",
            "price": 0,
            "currency": "USD",
            "model_training": "on",
            "per_1k_rows": 250,
            "monthly_cap": 10000,
            "trial_days": 7,
        },
    )
    assert response.status_code == 302
    listing = Listing.objects.get()
    assert listing.pricing == {
        "metered": {"per_1k_rows": 250, "per_gb": 0, "monthly_cap": 10000},
        "trial": {"days": 7, "rows": None},
    }
    assert (listing.plan_kind, listing.has_trial) == ("metered", True)


def test_a_buyer_starts_a_trial_from_the_listing_page_once_and_finds_metered_plans_in_the_catalogue(
    provider, buyer, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, pricing={"metered": {"per_1k_rows": 100}, "trial": {"rows": 500}})
    make_listing(provider, version, title="Flat table", price=900)
    client = _login(buyer)

    metered = client.get("/catalog/?plan=metered").content.decode()
    assert "Customer table" in metered and "Flat table" not in metered and "$1.00 per 1,000 rows used" in metered
    page = client.get(f"/catalog/{listing.pk}/").content.decode()
    assert 'id="trial-form"' in page and f"/api/v1/listings/{listing.pk}/croissant.json" in page
    key = page.split('id="trial-form"')[1].split('name="idempotency_key" value="')[1].split('"')[0]
    assert client.post(f"/catalog/{listing.pk}/license/", {"idempotency_key": key, "trial": "1"}).status_code == 302
    trial = License.objects.get()
    assert trial.is_trial and trial.trial_rows == 500 and trial.price == 0
    assert 'id="trial-form"' not in client.get(f"/catalog/{listing.pk}/").content.decode()


def test_a_buyer_sees_usage_and_a_failed_invoice_and_pays_it_and_the_provider_sees_its_rows(
    provider, django_capture_on_commit_callbacks
):
    payer = _persona("decl", "Decline Corp")
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, pricing={"metered": {"per_1k_rows": 100}})
    license, _ = listing_purchase(buyer=org_of(payer), user=payer, listing=listing, idempotency_key="b")
    usage_record(
        key="m",
        license=license,
        version=version,
        kind="rows_read",
        quantity=20_000,
        subject_kind="model",
        subject_id=7,
        subject_name="Churn model",
    )
    billing_run(period=timezone.now().strftime("%Y-%m"))
    client = _login(payer)
    assert 'href="/billing/"' in client.get("/licenses/").content.decode()
    page = client.get("/billing/").content.decode()
    assert "Metered use of licence" not in page  # the banner states the invoice, not the entitlement wording
    assert "could not be charged" in page and "Pay now" in page and "$20.00" in page and "Churn model" in page

    org = org_of(payer)
    org.slug = "paying-corp"
    org.save()
    invoice_id = page.split('action="/billing/invoices/')[1].split("/")[0]
    assert client.post(f"/billing/invoices/{invoice_id}/retry/").status_code == 302
    after = client.get("/billing/").content.decode()
    assert "Pay now" not in after and "could not be charged" not in after

    sales = _login(provider).get("/sales/").content.decode()
    assert "Churn model" in sales and "20000" in sales and "Decline Corp" in sales
    assert sales.count("Churn model") == 2  # in the rows per model, and in the usage of the provider's data
    assert _login(provider).post(f"/billing/invoices/{invoice_id}/retry/").status_code == 404
