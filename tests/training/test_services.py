import io
import zipfile

import pytest

from marketplace.errors import ApplicationError
from marketplace.services.licensing import license_revoke, listing_purchase
from tests.conftest import api_client_for, make_listing, make_ready_version, org_of
from training.models import TrainedModel, TrainingJob
from training.services import inherit_terms, training_job_create

PHRASES = ["great value, love it", "broke after a week", "works great for me", "awful, returned it"]
REVIEWS = "review,label\n" + "".join(f'"{PHRASES[i % 4]} {i}",{["great", "other"][i % 2]}\n' for i in range(60))
PARAMS = {"epochs": 1, "batch_size": 8, "learning_rate": 0.001}


@pytest.fixture
def reviews(provider, django_capture_on_commit_callbacks):
    return make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")


def _train(org_user, versions, capture, **kwargs):
    with capture(execute=True):
        training = training_job_create(
            organization=org_of(org_user),
            user=org_user,
            base_model="tiny-random-bert",
            task="text-classification",
            mix=[{"version": v.pk, "weight": 1} for v in versions],
            text_column="review",
            label_column="label",
            params=PARAMS,
            **kwargs,
        )
    training.refresh_from_db()
    return training


def test_compute_only_licence_trains_a_model_that_predicts_but_never_downloads(
    reviews, provider, buyer, django_capture_on_commit_callbacks
):
    listing = make_listing(provider, reviews, terms={"download": False, "model_training": True, "commercial_use": True})
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="t")

    training = _train(buyer, [reviews], django_capture_on_commit_callbacks)

    assert training.job.status == "succeeded", training.job.error
    model = training.model
    assert model.inherited_terms == {
        "download": False,
        "synthetic_derivatives": False,
        "model_training": True,
        "commercial_use": True,
    }
    entry = model.lineage[0]
    assert (entry["version"], entry["sha256"], entry["license"], entry["provider"], entry["is_synthetic"]) == (
        reviews.pk,
        reviews.sha256,
        license.pk,
        "Provider Org",
        False,
    )
    assert entry["share_of_training_rows"] == 1.0 and training.events[-1]["step"] == len(training.events)
    client = api_client_for(buyer)
    predicted = client.post(f"/api/v1/models/{model.pk}/predict/", {"inputs": ["love it"]}, format="json")
    assert predicted.status_code == 200 and predicted.data["predictions"][0]["label"] in {"great", "other"}
    refused = client.get(f"/api/v1/models/{model.pk}/download/")
    assert refused.status_code == 403 and "compute-only" in refused.data["message"]
    assert (
        "| " + str(reviews.pk) + " | Reviews | Provider Org |"
        in client.get(f"/api/v1/models/{model.pk}/").data["card_markdown"]
    )

    license_revoke(license=license, operator=None, reason="expired contract")
    blocked = client.post(f"/api/v1/models/{model.pk}/predict/", {"inputs": ["love it"]}, format="json")
    assert blocked.status_code == 403 and f"Source licence {license.pk}" in blocked.data["message"]


def test_owner_downloads_a_model_trained_on_its_own_data(reviews, provider, django_capture_on_commit_callbacks):
    training = _train(provider, [reviews], django_capture_on_commit_callbacks)
    response = api_client_for(provider).get(f"/api/v1/models/{training.model.pk}/download/")
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert response.status_code == 200 and "MODEL_CARD.md" in names and "labels.json" in names


def test_training_is_refused_without_a_training_licence(reviews, provider, buyer, outsider):
    listing = make_listing(provider, reviews, terms={"download": True, "model_training": False})
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="n")
    with pytest.raises(ApplicationError, match="does not allow training") as forbidden:
        training_job_create(
            organization=org_of(buyer),
            user=buyer,
            base_model="tiny-random-bert",
            task="text-classification",
            mix=[{"version": reviews.pk}],
            text_column="review",
            label_column="label",
        )
    with pytest.raises(ApplicationError, match="has no licence") as unlicensed:  # listed, so visible: 403
        training_job_create(
            organization=org_of(outsider),
            user=outsider,
            base_model="tiny-random-bert",
            task="text-classification",
            mix=[{"version": reviews.pk}],
            text_column="review",
            label_column="label",
        )
    assert forbidden.value.status == unlicensed.value.status == 403
    assert TrainingJob.objects.count() == 0 and TrainedModel.objects.count() == 0


def test_inherited_terms_are_the_most_restrictive():
    assert inherit_terms(
        [
            {"download": True, "commercial_use": True, "model_training": True},
            {"download": False, "commercial_use": True, "model_training": True},
        ]
    ) == {"download": False, "synthetic_derivatives": False, "model_training": True, "commercial_use": True}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"base_model": "gpt-9"}, "Unknown base model"),
        ({"task": "causal-lm"}, "not available"),
        ({"text_column": "nope"}, "has no column"),
    ],
)
def test_bad_training_requests_are_400(body, message, reviews, provider):
    request = {
        "base_model": "tiny-random-bert",
        "task": "text-classification",
        "mix": [{"version": reviews.pk}],
        "text_column": "review",
        "label_column": "label",
        **body,
    }
    response = api_client_for(provider).post("/api/v1/training-jobs/", request, format="json")
    assert response.status_code == 400 and message in response.data["message"]


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("outsider", 404), ("member", 200), ("owner", 200)])
def test_model_detail_by_role(
    role, expected, reviews, provider, provider_member, outsider, django_capture_on_commit_callbacks
):
    model = _train(provider, [reviews], django_capture_on_commit_callbacks).model
    caller = {"anonymous": None, "outsider": outsider, "member": provider_member, "owner": provider}[role]
    assert api_client_for(caller).get(f"/api/v1/models/{model.pk}/").status_code == expected


def test_base_models_are_listed_publicly(db):
    names = [m["name"] for m in api_client_for(None).get("/api/v1/base-models/").data]
    assert {"all-minilm-l6-v2", "tiny-random-bert"} <= set(names)


def test_baseline_reports_real_only_metrics_and_the_lift(reviews, provider, django_capture_on_commit_callbacks):
    training = _train(provider, [reviews], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        with_baseline = training_job_create(
            organization=org_of(provider),
            user=provider,
            base_model="tiny-random-bert",
            task="text-classification",
            mix=[{"version": reviews.pk, "weight": 1}],
            text_column="review",
            label_column="label",
            params={**PARAMS, "baseline": True},
        )
    with_baseline.refresh_from_db()

    metrics = with_baseline.metrics
    assert with_baseline.job.status == "succeeded", with_baseline.job.error
    assert metrics["baseline_real_only"]["eval_rows"] == metrics["eval_rows"] == training.metrics["eval_rows"]
    assert metrics["lift_accuracy"] == round(metrics["accuracy"] - metrics["baseline_real_only"]["accuracy"], 4)
