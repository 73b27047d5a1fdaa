import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import License
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.licensing import listing_purchase
from tests.conftest import make_listing, make_ready_version, org_of

TERMS = {Action.DOWNLOAD: "download", Action.SYNTHESIZE: "synthetic_derivatives", Action.TRAIN: "model_training"}
STATES = ["none", "active", "expired", "revoked"]


@pytest.fixture
def world(provider, buyer, outsider, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    return version


VERSION_ACTIONS = [Action.VIEW, Action.PREVIEW, Action.DOWNLOAD, Action.SYNTHESIZE, Action.TRAIN]


@pytest.mark.parametrize(("state", "granted", "action"), itertools.product(STATES, [True, False], VERSION_ACTIONS))
def test_buyer_entitlement_over_licence_state_term_and_action(world, provider, buyer, state, granted, action):
    term = TERMS.get(action)
    terms = {"download": False, "synthetic_derivatives": False, "model_training": False, "commercial_use": False}
    if term:
        terms[term] = granted
    listing = make_listing(provider, world, terms=terms)
    if state != "none":
        license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key=state)
        if state == "expired":
            License.objects.filter(pk=license.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        if state == "revoked":
            License.objects.filter(pk=license.pk).update(status="revoked", revoked_reason="fraud")

    decision = version_entitlement(org=org_of(buyer), version=world, action=action)

    if action in (Action.VIEW, Action.PREVIEW):
        expected = True  # the listing is published: schema and preview are public
    else:
        expected = state == "active" and granted
    assert decision.allowed is expected, decision.reason
    if not expected and state == "expired":
        assert "expired" in decision.reason
    if not expected and state == "revoked":
        assert "revoked: fraud" in decision.reason
    if not expected and state == "active":
        assert "does not allow" in decision.reason


def test_only_the_owner_may_list_a_version_even_with_every_term(world, provider, buyer):
    listing = make_listing(provider, world, terms={"download": True, "commercial_use": True})
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="k")
    assert not version_entitlement(org=org_of(buyer), version=world, action=Action.LIST).allowed


@pytest.mark.parametrize("action", list(Action))
def test_owner_may_do_everything_and_outsider_nothing_without_a_listing(world, provider, outsider, action):
    assert version_entitlement(org=org_of(provider), version=world, action=action).allowed
    assert not version_entitlement(org=org_of(outsider), version=world, action=action).allowed


@pytest.mark.parametrize("action", [Action.DOWNLOAD, Action.SYNTHESIZE, Action.TRAIN])
def test_expiry_is_enforced_at_the_moment_of_use(world, provider, buyer, action):
    listing = make_listing(provider, world)
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="e")
    assert version_entitlement(org=org_of(buyer), version=world, action=action).allowed

    License.objects.filter(pk=license.pk).update(expires_at=timezone.now() - timedelta(microseconds=1))
    assert not version_entitlement(org=org_of(buyer), version=world, action=action).allowed
