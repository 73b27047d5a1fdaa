from django.test import Client

from tests.conftest import PASSWORD, make_ready_version
from tests.training.test_services import REVIEWS


def test_provider_trains_from_the_web_and_uses_the_model(provider, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    client = Client()
    client.login(username=provider.username, password=PASSWORD)
    assert "Reviews v1" in client.get("/training/new/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/training/new/",
            {
                "base_model": "tiny-random-bert",
                f"weight_{version.pk}": "1",
                "text_column": "review",
                "label_column": "label",
                "epochs": "1",
            },
        )
    job_page = client.get(response["Location"]).content.decode()
    assert response.status_code == 302 and "succeeded" in job_page and 'id="loss-chart"' in job_page

    model_url = job_page.split('href="/training/models/')[1].split('"')[0]
    result = client.post(f"/training/models/{model_url}", {"inputs": "love it\nbroke"}).content.decode()
    assert 'id="predictions"' in result and "Download (zip)" in result and "## Lineage" in result


def test_tabular_model_page_takes_one_json_row_per_line_and_job_page_shows_the_lift(
    provider, django_capture_on_commit_callbacks
):
    from tests.training.test_services import LOANS

    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=LOANS, title="Loans")
    client = Client()
    client.login(username=provider.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/training/new/",
            {
                "task": "tabular-classification",
                "base_model": "tabular-mlp",
                f"weight_{version.pk}": "1",
                "label_column": "status",
                "epochs": "2",
                "baseline": "1",
            },
        )
    job_page = client.get(response["Location"]).content.decode()
    assert "succeeded" in job_page and "Lift from synthetic data:" in job_page and "accuracy" in job_page

    model_url = job_page.split('href="/training/models/')[1].split('"')[0]
    page = client.post(f"/training/models/{model_url}", {"inputs": '{"income": 9, "home": "own"}'}).content.decode()
    assert 'id="predictions"' in page and ("<td>good</td>" in page or "<td>bad</td>" in page)
    broken = client.post(f"/training/models/{model_url}", {"inputs": "income=9"}, follow=True).content.decode()
    assert "Each line must be one JSON object" in broken


def test_the_form_defaults_to_auto_epochs_and_explains_bad_numbers(provider, django_capture_on_commit_callbacks):
    from training.models import TrainingJob

    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    client = Client()
    client.login(username=provider.username, password=PASSWORD)
    form = {"base_model": "tiny-random-bert", "text_column": "review", "label_column": "label"}

    for field, value, message in [
        (f"weight_{version.pk}", "lots", "The weight of Reviews v1 must be a number, not &#x27;lots&#x27;."),
        ("learning_rate", "fast", "The learning rate must be a number"),
        ("epochs", "many", "params.epochs must be a int or &quot;auto&quot;"),
    ]:
        page = client.post("/training/new/", {f"weight_{version.pk}": "1", **form, field: value})
        assert page.status_code == 200 and message in page.content.decode()
    assert not TrainingJob.objects.exists()

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/training/new/", {f"weight_{version.pk}": "1", **form, "epochs": ""})
    assert response.status_code == 302 and TrainingJob.objects.get().params == {"epochs": "auto"}


def test_the_training_form_offers_a_listings_newer_version_to_its_licensee(
    provider, buyer, django_capture_on_commit_callbacks
):
    """The form's own copy of "versions this organisation may use" lacked licences carried to a listing update."""
    from marketplace.services.datasets import version_upload
    from marketplace.services.licensing import listing_purchase
    from marketplace.services.publishing import listing_update_version
    from tests.conftest import make_listing, org_of, upload_file

    first = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    listing = make_listing(provider, first)
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="k")
    with django_capture_on_commit_callbacks(execute=True):
        second = version_upload(dataset=first.dataset, user=provider, upload=upload_file(REVIEWS))
    second.refresh_from_db()
    listing_update_version(listing=listing, user=provider, version=second)

    client = Client()
    client.login(username=buyer.username, password=PASSWORD)
    page = client.get("/training/new/").content.decode()
    assert f'name="weight_{second.pk}"' in page and "Reviews v2" in page


def test_the_training_form_offers_the_columns_of_the_trainable_versions_and_refuses_others(
    provider, django_capture_on_commit_callbacks
):
    import re

    from training.models import TrainingJob

    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    client = Client()
    client.login(username=provider.username, password=PASSWORD)
    page = client.get("/training/new/").content.decode()

    label = re.search(r'<select name="label_column">(.*?)</select>', page, re.S).group(1)
    assert '<option value="review">review (string; in Reviews v1)</option>' in label
    assert '<option value="label">' in label and '<input type="text" name="label_column"' not in page
    # A column the form never offered (a hand-made request) is refused by the server with what is wrong.
    refused = client.post(
        "/training/new/",
        {"base_model": "tiny-random-bert", f"weight_{version.pk}": "1", "text_column": "review", "label_column": "x"},
    )
    assert refused.status_code == 200
    assert f"Version {version.pk} has no column &#x27;x&#x27;" in refused.content.decode()
    assert not TrainingJob.objects.exists()


def test_the_form_sets_weight_choice_seeds_and_validation_share(provider, django_capture_on_commit_callbacks):
    from training.models import TrainingJob

    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    client = Client()
    client.login(username=provider.username, password=PASSWORD)
    form = {"base_model": "tiny-random-bert", "text_column": "review", "label_column": "label", "epochs": "1"}
    form[f"weight_{version.pk}"] = "1"
    page = client.get("/training/new/").content.decode()
    assert 'name="mix_weights"' in page and 'name="seeds"' in page and 'name="validation_fraction"' in page

    for field, value, message in [
        ("seeds", "9", "params.seeds must be between 1 and 5."),
        ("seeds", "1.5", "params.seeds must be a int"),
        ("validation_fraction", "0.9", "params.validation_fraction must be between 0.0 and 0.5."),
        ("mix_weights", "best", "params.mix_weights must be &quot;auto&quot; or &quot;fixed&quot;."),
    ]:
        refused = client.post("/training/new/", {**form, field: value})
        assert refused.status_code == 200 and message in refused.content.decode(), message
    assert not TrainingJob.objects.exists()

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/training/new/", {**form, "mix_weights": "fixed", "seeds": "3", "validation_fraction": "0.2"}
        )
    assert response.status_code == 302
    params = TrainingJob.objects.get().params
    assert params["mix_weights"] == "fixed" and params["seeds"] == 3 and params["validation_fraction"] == 0.2
