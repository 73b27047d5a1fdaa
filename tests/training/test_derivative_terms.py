"""Derived data obeys its sources: role x source terms x licence state x artifact x action.

One world per (terms, state): the provider lists a table, the buyer licenses it, synthesizes from it, synthesizes
again from the synthetic version, and trains one model on the licensed rows and one on the synthetic rows. Then the
licence is left active, expired or revoked, and every artifact is tried with every action, through the services
(the answer) and through the API (the status, and that nothing was written).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.errors import ApplicationError
from marketplace.models import DatasetVersion, Job, License
from marketplace.selectors.market import sales_for_provider
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.licensing import license_revoke, listing_purchase
from synthesis.services import synthesis_job_create
from tests.conftest import api_client_for, make_listing, make_ready_version, org_of
from training.models import TrainedModel
from training.services import model_entitlement, training_job_create

LOANS = "income,home,status\n" + "".join(
    f"{(i * 7) % 90},{['own', 'rent', 'mortgage'][i % 3]},{['good', 'bad'][(i * 7) % 90 < 30]}\n" for i in range(60)
)
TERMS = {
    # The full licence: everything, commercial use included.
    "full": {"download": True, "synthetic_derivatives": True, "model_training": True, "commercial_use": True},
    # Compute-only and non-commercial: use on the platform, never take the data (or what it became) away.
    "compute_only": {"download": False, "synthetic_derivatives": True, "model_training": True, "commercial_use": False},
}
STATES = ["active", "expired", "revoked"]


def _synthesize(user, source, capture) -> DatasetVersion:
    with capture(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(user), user=user, sources=[source.pk], method="cart", rows=40
        )
    synthesis.refresh_from_db()
    assert synthesis.job.status == "succeeded", synthesis.job.error
    return synthesis.output_version


def _train(user, mix, capture, eval_version=None) -> TrainedModel:
    with capture(execute=True):
        training = training_job_create(
            organization=org_of(user),
            user=user,
            base_model="tabular-mlp",
            task="tabular-classification",
            mix=[{"version": v.pk} for v in mix],
            text_column="",
            label_column="status",
            evaluation={"version": eval_version.pk} if eval_version else {},
            params={"epochs": 1, "batch_size": 8},
        )
    training.refresh_from_db()
    assert training.job.status == "succeeded", training.job.error
    return training.model


@pytest.fixture(params=[(terms, state) for terms in TERMS for state in STATES], ids=lambda p: f"{p[0]}-{p[1]}")
def world(request, provider, buyer, outsider, django_capture_on_commit_callbacks):
    terms_name, state = request.param
    capture = django_capture_on_commit_callbacks
    licensed = make_ready_version(provider, capture, content=LOANS, title="Loans")
    listing = make_listing(provider, licensed, terms=TERMS[terms_name] | {"duration_days": None})
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="matrix")
    synthetic = _synthesize(buyer, licensed, capture)
    synthetic_of_synthetic = _synthesize(buyer, synthetic, capture)
    model = _train(buyer, [licensed], capture)
    model_of_synthetic = _train(buyer, [synthetic], capture, eval_version=licensed)
    if state == "expired":
        License.objects.filter(pk=license.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    if state == "revoked":
        license_revoke(license=license, operator=provider, organization=org_of(provider), reason="consent withdrawn")
    license.refresh_from_db()
    return {
        "terms": TERMS[terms_name],
        "state": state,
        "license": license,
        "licensed": licensed,
        "synthetic": synthetic,
        "synthetic_of_synthetic": synthetic_of_synthetic,
        "model": model,
        "model_of_synthetic": model_of_synthetic,
    }


def _expected_for_owner_of_derivative(world, action: Action) -> bool:
    if action == Action.VIEW:
        return True
    if world["state"] != "active":
        return False
    needs = {
        Action.DOWNLOAD: ["download"],
        Action.LIST: ["commercial_use", "synthetic_derivatives"],
        Action.SYNTHESIZE: ["synthetic_derivatives"],
        Action.TRAIN: ["model_training"],
    }.get(action, [])
    return all(world["terms"][term] for term in needs)


VERSION_ACTIONS = [Action.VIEW, Action.PREVIEW, Action.DOWNLOAD, Action.SYNTHESIZE, Action.TRAIN, Action.LIST]


def test_every_artifact_answers_every_action_from_its_source_licence(world, provider, buyer, outsider):
    buyer_org, license = org_of(buyer), world["license"]
    for action in VERSION_ACTIONS:
        # The licensed version itself: the catalogue shows schema and preview; listing it is the provider's alone.
        decision = version_entitlement(org=buyer_org, version=world["licensed"], action=action)
        expected = action in (Action.VIEW, Action.PREVIEW) or (
            action != Action.LIST and world["state"] == "active" and _expected_for_owner_of_derivative(world, action)
        )
        assert decision.allowed is expected, (action, decision.reason)
        # Both synthetic versions, one of them made from the other: the licence reaches them transitively.
        for name in ("synthetic", "synthetic_of_synthetic"):
            decision = version_entitlement(org=buyer_org, version=world[name], action=action)
            assert decision.allowed is _expected_for_owner_of_derivative(world, action), (name, action, decision.reason)
            if not decision.allowed:
                assert f"licence {license.pk} (Customer table)" in decision.reason
                assert decision.license == license
            # Nobody else may do anything with the buyer's synthetic data, the provider included.
            for other in (provider, outsider):
                assert not version_entitlement(org=org_of(other), version=world[name], action=action).allowed
    # The provider sees how much was built under the licence, whatever its state.
    sale = sales_for_provider(org=org_of(provider))["sales"].get(pk=license.pk)
    assert (sale.derived_version_count, sale.derived_model_count) == (2, 2)
    for name in ("model", "model_of_synthetic"):
        for action in (Action.PREDICT, Action.DOWNLOAD):
            expected = _expected_for_owner_of_derivative(world, action)
            if expected:
                model_entitlement(model=world[name], action=action)
            else:
                with pytest.raises(ApplicationError) as refused:
                    model_entitlement(model=world[name], action=action)
                assert refused.value.status == 403 and f"licence {license.pk}" in refused.value.message


def test_refused_uses_of_derivatives_answer_403_and_write_nothing(world, provider, buyer, outsider):
    client, synthetic = api_client_for(buyer), world["synthetic_of_synthetic"]
    jobs, versions, models = Job.objects.count(), DatasetVersion.objects.count(), TrainedModel.objects.count()

    download = client.get(f"/api/v1/versions/{synthetic.pk}/download/?format=csv")
    model_download = client.get(f"/api/v1/models/{world['model_of_synthetic'].pk}/download/")
    predict = client.post(
        f"/api/v1/models/{world['model'].pk}/predict/", {"inputs": [{"income": 5, "home": "own"}]}, format="json"
    )
    synthesize = client.post(
        "/api/v1/synthesis-jobs/", {"sources": [synthetic.pk], "method": "cart", "rows": 10}, format="json"
    )

    may_download = _expected_for_owner_of_derivative(world, Action.DOWNLOAD)
    assert download.status_code == (200 if may_download else 403)
    assert model_download.status_code == (200 if may_download else 403)
    assert predict.status_code == (200 if world["state"] == "active" else 403)
    assert synthesize.status_code == (202 if world["state"] == "active" else 403)
    if world["state"] != "active":
        assert f"licence {world['license'].pk}" in synthesize.data["message"]
        assert (Job.objects.count(), DatasetVersion.objects.count()) == (jobs, versions)
    assert TrainedModel.objects.count() == models
    # Outsiders cannot learn that the buyer's derivatives exist.
    stranger = api_client_for(outsider)
    assert stranger.get(f"/api/v1/versions/{synthetic.pk}/download/?format=csv").status_code == 404
    assert stranger.get(f"/api/v1/models/{world['model'].pk}/").status_code == 404
