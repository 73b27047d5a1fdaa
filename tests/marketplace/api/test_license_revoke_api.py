"""Providers revoke licences on their own listings; revoked buyers come back only through an access request."""

import pytest

from marketplace.models import AccessRequest, AuditEvent, License, Notification
from tests.conftest import api_client_for, make_listing, make_ready_version, org_of


@pytest.fixture
def sold(provider, buyer, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version)
    response = api_client_for(buyer).post(
        f"/api/v1/listings/{listing.pk}/purchase/", {}, format="json", HTTP_IDEMPOTENCY_KEY="first"
    )
    return License.objects.get(pk=response.data["license"]["id"])


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("outsider", 404), ("buyer", 403), ("provider_member", 200), ("provider", 200)],
)
def test_only_the_provider_revokes_a_licence(role, expected, request, sold):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    response = api_client_for(user).post(
        f"/api/v1/licenses/{sold.pk}/revoke/", {"reason": "consent withdrawn"}, format="json"
    )
    assert response.status_code == expected
    sold.refresh_from_db()
    assert sold.status == ("revoked" if expected == 200 else "active")
    assert AuditEvent.objects.filter(action="license.revoked").count() == (1 if expected == 200 else 0)
    if expected == 200:
        assert response.data["status"] == "revoked" and response.data["revoked_reason"] == "consent withdrawn"
        assert Notification.objects.get(organization=sold.buyer).message.startswith(
            f"Your licence {sold.pk} for 'Customer table' was revoked: consent withdrawn."
        )


def test_a_revocation_needs_a_reason_and_happens_once(provider, sold):
    client = api_client_for(provider)
    assert client.post(f"/api/v1/licenses/{sold.pk}/revoke/", {"reason": " "}, format="json").status_code == 400
    assert client.post(f"/api/v1/licenses/{sold.pk}/revoke/", {"reason": "fraud"}, format="json").status_code == 200
    again = client.post(f"/api/v1/licenses/{sold.pk}/revoke/", {"reason": "twice"}, format="json")
    assert again.status_code == 409 and again.data["message"] == f"Licence {sold.pk} was already revoked: fraud"
    sold.refresh_from_db()
    assert sold.revoked_reason == "fraud"


def test_a_revoked_buyer_licenses_again_only_after_the_provider_approves(provider, buyer, sold):
    api_client_for(provider).post(f"/api/v1/licenses/{sold.pk}/revoke/", {"reason": "fraud"}, format="json")
    client = api_client_for(buyer)
    path = f"/api/v1/listings/{sold.listing_id}/purchase/"

    refused = client.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="second")
    assert refused.status_code == 400 and refused.data["message"] == (
        f"Your licence {sold.pk} for this listing was revoked (fraud); the provider must approve a new one: "
        "describe your intended use."
    )
    assert License.objects.filter(buyer=org_of(buyer)).count() == 1

    asked = client.post(path, {"intended_use": "research"}, format="json", HTTP_IDEMPOTENCY_KEY="third")
    assert asked.status_code == 202 and License.objects.filter(buyer=org_of(buyer)).count() == 1
    request_id = asked.data["access_request"]["id"]
    approved = api_client_for(provider).post(f"/api/v1/access-requests/{request_id}/approve/", {}, format="json")
    assert approved.status_code == 200
    assert AccessRequest.objects.get(pk=request_id).license.status == "active"


def test_sales_show_what_each_buyer_built_under_a_licence(provider, sold):
    sales = api_client_for(provider).get("/api/v1/sales/").data["sales"]
    assert [(s["id"], s["buyer"], s["derivatives"]) for s in sales] == [
        (sold.pk, "Buyer Org", {"synthetic_versions": 0, "models": 0})
    ]
