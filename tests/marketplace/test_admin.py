import pytest
from django.contrib.auth.models import User
from django.test import Client

from marketplace.models import Listing
from tests.conftest import make_listing, make_ready_version


@pytest.fixture
def operator(db):
    return User.objects.create_superuser("op", "op@example.com", "correct-horse-battery")


@pytest.mark.parametrize(
    "model",
    [
        "organization",
        "membership",
        "apitoken",
        "dataset",
        "datasetversion",
        "job",
        "listing",
        "license",
        "accessrequest",
        "ledgerentry",
        "auditevent",
        "notification",
    ],
)
def test_every_model_has_an_admin_changelist(model, operator):
    client = Client()
    client.force_login(operator)
    assert client.get(f"/admin/marketplace/{model}/").status_code == 200


def test_operator_rejects_with_the_reason_the_provider_sees(
    operator, provider, django_capture_on_commit_callbacks, settings
):
    settings.TESSERA_AUTO_APPROVE = False
    listing = make_listing(provider, make_ready_version(provider, django_capture_on_commit_callbacks), publish=False)
    Listing.objects.filter(pk=listing.pk).update(status="pending_review", review_reason="Missing licence text.")
    client = Client()
    client.force_login(operator)

    client.post("/admin/marketplace/listing/", {"action": "reject", "_selected_action": [listing.pk]})

    listing.refresh_from_db()
    assert (listing.status, listing.review_reason) == ("rejected", "Missing licence text.")
