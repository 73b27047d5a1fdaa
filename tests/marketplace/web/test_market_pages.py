from django.test import Client

from marketplace.models import AccessRequest, License, Listing
from tests.conftest import PASSWORD, make_listing, make_ready_version


def _login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_catalogue_search_and_listing_page_are_public(provider, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version, title="Customer table", description="Has <b>bold</b> *words*")
    anonymous = Client()

    found = anonymous.get("/catalog/?search=amount").content.decode()
    missing = anonymous.get("/catalog/?search=zebra").content.decode()
    page = anonymous.get(f"/catalog/{listing.pk}/").content.decode()

    assert "Customer table" in found and "Customer table" not in missing
    assert "You may download the data" in page and version.sha256 in page and "<b>bold</b>" not in page
    assert "Log in to license" in page and "Alice Johnson" not in page


def test_double_clicked_licence_button_buys_once(provider, buyer, django_capture_on_commit_callbacks):
    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks), price=100)
    client = _login(buyer)
    page = client.get(f"/catalog/{listing.pk}/").content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]

    first = client.post(f"/catalog/{listing.pk}/license/", {"idempotency_key": key})
    second = client.post(f"/catalog/{listing.pk}/license/", {"idempotency_key": key})

    assert first.status_code == second.status_code == 302 and first["Location"] == "/licenses/"
    assert License.objects.count() == 1
    licences = client.get("/licenses/").content.decode()
    assert "active" in licences and f"/api/v1/versions/{listing.dataset_version_id}/download/?format=csv" in licences


def test_provider_creates_and_submits_a_listing_from_the_web(provider, django_capture_on_commit_callbacks, settings):
    settings.TESSERA_AUTO_APPROVE = True
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    client = _login(provider)
    response = client.post(
        "/listings/",
        {
            "dataset_version": version.pk,
            "title": "Web listing",
            "price": 0,
            "currency": "usd",
            "download": "on",
            "model_training": "on",
        },
    )
    listing = Listing.objects.get()
    assert response.status_code == 302 and listing.terms["download"] and not listing.terms["commercial_use"]

    client.post(f"/listings/{listing.pk}/submit/")
    listing.refresh_from_db()
    assert listing.status == "published"
    assert "Published" in client.get("/listings/", HTTP_HX_REQUEST="true").content.decode()


def test_sales_page_shows_revenue_and_accesses(provider, buyer, django_capture_on_commit_callbacks):
    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks), price=500)
    buyer_client = _login(buyer)
    page = buyer_client.get(f"/catalog/{listing.pk}/").content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    buyer_client.post(f"/catalog/{listing.pk}/license/", {"idempotency_key": key})

    sales = _login(provider).get("/sales/").content.decode()
    assert "Buyer Org" in sales and "license.purchased" in sales and 'id="revenue-chart"' in sales
    # The chart's data travels as JSON in a data element, read by a static script: no inline script to allow.
    assert '<script id="revenue-data" type="application/json">{"labels": [' in sales and '"values": [' in sales


def test_provider_approves_an_access_request_on_the_web(provider, buyer, django_capture_on_commit_callbacks):
    listing = make_listing(
        provider, make_ready_version(provider, django_capture_on_commit_callbacks), requires_approval=True
    )
    _login(buyer).post(f"/catalog/{listing.pk}/license/", {"idempotency_key": "k", "intended_use": "research"})
    request = AccessRequest.objects.get()

    _login(provider).post("/access-requests/", {"request": request.pk, "decision": "approve"})

    request.refresh_from_db()
    assert request.status == "approved" and License.objects.get().buyer.name == "Buyer Org"


def test_provider_revokes_a_sale_from_the_sales_page_and_the_buyer_cannot(
    provider, buyer, django_capture_on_commit_callbacks
):
    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks))
    buyer_client = _login(buyer)
    page = buyer_client.get(f"/catalog/{listing.pk}/").content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    buyer_client.post(f"/catalog/{listing.pk}/license/", {"idempotency_key": key})
    license = License.objects.get()
    provider_client = _login(provider)
    assert f'action="/sales/{license.pk}/revoke/"' in provider_client.get("/sales/").content.decode()

    assert buyer_client.post(f"/sales/{license.pk}/revoke/", {"reason": "mine"}).status_code == 302
    license.refresh_from_db()
    assert license.status == "active"  # the buyer is told it may not (a message), and nothing changed

    response = provider_client.post(f"/sales/{license.pk}/revoke/", {"reason": "consent withdrawn"}, follow=True)
    license.refresh_from_db()
    page = response.content.decode()
    assert license.status == "revoked" and license.revoked_reason == "consent withdrawn"
    assert "Revoked: consent withdrawn" in page and "0 synthetic versions, 0 models" in page
    assert f'action="/sales/{license.pk}/revoke/"' not in page
