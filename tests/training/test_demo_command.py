"""The demo seeds something real on every page: several providers' listings of every kind, a licence of each kind,
an access request, a synthetic set and two models (run in-process here; by the worker under `make run`)."""

from django.core.management import call_command
from django.test import Client

from marketplace.models import AccessRequest, License, Listing, Organization
from synthesis.models import SynthesisJob
from training.models import TrainedModel, TrainingJob


def test_demo_seeds_every_kind_of_listing_licence_job_and_model_and_is_idempotent(
    db, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--rows", "80")
    call_command("demo", "--rows", "80")
    call_command("demo", "--if-empty")

    assert Organization.objects.count() == 6
    listings = {listing.title: listing for listing in Listing.objects.all()}
    assert len(listings) == 5 and all(listing.status == "published" for listing in listings.values())
    covid = listings["COVID-19 testing at a children's hospital"]
    names = {c["name"]: c for c in covid.dataset_version.pii_report["columns"]}
    assert names["fake_first_name"]["kind"] == "direct_identifier"
    assert covid.price > 0 and listings["Fine food product reviews"].price == 0
    assert (
        listings["Fine food product reviews"].plan_kind == "metered" and listings["Fine food product reviews"].has_trial
    )
    assert listings["Fine food product reviews"].dataset_version.dataset.modality == "text"
    assert listings["Consumer credit applications"].terms["download"] is False
    assert listings["Palmer Archipelago penguins"].requires_approval
    assert License.objects.filter(buyer__name="Acme Models").count() == 4
    # The generated Chinese table is scrubbed like any other: no resident ID, mobile or name survives in the preview.
    chinese = listings["门诊就诊记录 Outpatient visits (generated, fake)"]
    assert chinese.currency == "CNY" and chinese.dataset_version.pii_report["publishable"]
    kinds = {c["name"]: c["kind"] for c in chinese.dataset_version.pii_report["columns"]}
    assert kinds["姓名"] == kinds["身份证号"] == kinds["手机号"] == "direct_identifier"
    assert AccessRequest.objects.get().status == "pending"

    synthesis = SynthesisJob.objects.get()
    assert synthesis.job.status == "succeeded", synthesis.job.error
    assert {t.base_model: t.job.status for t in TrainingJob.objects.all()} == {
        "all-minilm-l6-v2": "succeeded",
        "tabular-mlp": "succeeded",
    }, [t.job.error for t in TrainingJob.objects.all()]
    assert TrainedModel.objects.count() == 2
    assert "password tessera-demo-2026" in capsys.readouterr().out

    # The home page shows the catalogue to anyone: the newest listings and the most licensed.
    home = Client().get("/").content.decode()
    assert 'id="newest-listings"' in home and "Palmer Archipelago penguins" in home
    popular = home.split('id="popular-listings"')[1]
    assert "licensed 1 time" in popular and "Palmer Archipelago penguins" not in popular.split("</div>\n<p>")[0]
