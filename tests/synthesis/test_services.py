import re

import pytest

from marketplace.errors import ApplicationError
from marketplace.models import DatasetVersion
from marketplace.services.licensing import license_revoke, listing_purchase
from synthesis.models import SynthesisJob
from synthesis.services import synthesis_job_create, synthesis_run
from tests.conftest import api_client_for, make_listing, make_ready_version, org_of

ROWS = "customer_id,age,plan,amount\n" + "".join(
    f"{i},{20 + i % 50},{['basic', 'plus', 'gold'][i % 3]},{(i * 37) % 500 + 0.5}\n" for i in range(120)
)


@pytest.fixture
def source(provider, django_capture_on_commit_callbacks):
    return make_ready_version(provider, django_capture_on_commit_callbacks, content=ROWS, title="Accounts")


def test_licensed_buyer_synthesizes_a_new_version_with_lineage(
    source, provider, buyer, django_capture_on_commit_callbacks
):
    listing = make_listing(provider, source)
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="s")

    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(buyer), user=buyer, sources=[source.pk], method="gaussian_copula", rows=80
        )
    synthesis.refresh_from_db()

    assert synthesis.job.status == "succeeded", synthesis.job.error
    output = synthesis.output_version
    assert output.is_synthetic and output.dataset.organization == org_of(buyer) and output.row_count == 80
    assert output.lineage["sources"][0] | {"terms": None} == {
        "version": source.pk,
        "dataset": "Accounts",
        "sha256": source.sha256,
        "license": license.pk,
        "provider": "Provider Org",
        "terms": None,
        "source_licenses": [license.pk],
        "is_synthetic": False,
    }
    assert list(output.source_licenses.all()) == [license]
    assert [c["name"] for c in output.schema] == ["customer_id", "age", "plan", "amount"]
    # Stored from the typed frame: the source's column types, not types guessed again from strings.
    assert [c["type"] for c in output.schema] == [c["type"] for c in source.schema]
    assert {c["name"]: c["type"] for c in output.schema} | {"age": None} == {
        "customer_id": "integer",
        "age": None,  # generalised to bands by the scrubber: a string in the source
        "plan": "string",
        "amount": "float",
    }
    assert 0 < synthesis.report["quality"]["overall"] <= 1 and "dcr_share" in synthesis.report
    assert 0 <= synthesis.report["delivered_exact_copy_rate"] <= 1


def test_synthesis_needs_a_licence_that_allows_it(source, provider, buyer, outsider):
    with pytest.raises(ApplicationError) as not_visible:
        synthesis_job_create(organization=org_of(outsider), user=outsider, sources=[source.pk], method="auto", rows=5)
    listing = make_listing(provider, source, terms={"download": True, "synthetic_derivatives": False})
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="n")
    with pytest.raises(ApplicationError, match="does not allow generating synthetic data") as forbidden:
        synthesis_job_create(organization=org_of(buyer), user=buyer, sources=[source.pk], method="auto", rows=5)

    assert not_visible.value.status == 404 and forbidden.value.status == 403
    assert SynthesisJob.objects.count() == 0


def test_revocation_after_queueing_fails_the_job_with_the_reason(source, provider, buyer):
    listing = make_listing(provider, source)
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="r")
    synthesis = synthesis_job_create(
        organization=org_of(buyer), user=buyer, sources=[source.pk], method="gaussian_copula", rows=10
    )  # not committed: the task is not sent
    license_revoke(license=license, operator=None, reason="consent withdrawn")

    synthesis_run(job_id=synthesis.job_id)

    synthesis.job.refresh_from_db()
    assert synthesis.job.status == "failed" and "revoked: consent withdrawn" in synthesis.job.error
    assert DatasetVersion.objects.filter(is_synthetic=True).count() == 0


def test_cancelled_job_never_runs(source, provider):
    synthesis = synthesis_job_create(
        organization=org_of(provider), user=provider, sources=[source.pk], method="gaussian_copula", rows=10
    )
    response = api_client_for(provider).post(f"/api/v1/synthesis-jobs/{synthesis.pk}/cancel/")
    assert response.status_code == 200 and response.data["status"] == "cancelled"
    assert synthesis_run(job_id=synthesis.job_id) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"sources": [], "method": "auto"}, "sources"),
        ({"sources": [1], "method": "llm"}, "params.text_column"),
        ({"sources": [1], "method": "llm", "params": {"text_column": "t", "template": "{name}"}}, "may only use"),
        ({"sources": [1], "method": "magic"}, "Unknown method"),
        ({"sources": [1], "method": "llm", "params": {"text_column": "t", "temperature": "hot"}}, "a number"),
        ({"sources": [1], "method": "llm", "params": {"text_column": "t", "batch_size": 2.5}}, "an integer"),
        ({"sources": [1], "method": "llm", "params": {"text_column": "t", "top_p": 0}}, "between 0.01 and 1.0"),
        ({"sources": [1], "method": "llm", "params": {"text_column": "t", "top_up": "yes"}}, "true or false"),
    ],
)
def test_bad_requests_are_400(body, message, provider, source):
    body = {**body, "sources": [source.pk] if body["sources"] else []}
    response = api_client_for(provider).post("/api/v1/synthesis-jobs/", body, format="json")
    assert response.status_code == 400 and message in response.data["message"]


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("outsider", 404), ("member", 200), ("owner", 200)])
def test_synthesis_job_detail_by_role(role, expected, source, provider, provider_member, outsider):
    synthesis = synthesis_job_create(
        organization=org_of(provider), user=provider, sources=[source.pk], method="gaussian_copula", rows=10
    )
    caller = {"anonymous": None, "outsider": outsider, "member": provider_member, "owner": provider}[role]
    response = api_client_for(caller).get(f"/api/v1/synthesis-jobs/{synthesis.pk}/")
    assert response.status_code == expected
    assert SynthesisJob.objects.count() == 1


def test_llm_text_synthesis_job_stores_texts_with_provenance(
    provider, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.TESSERA_MODEL_CACHE = tmp_path / "models"
    reviews = "review,score\n" + "".join(
        f'"{["great product, works well", "terrible quality, broke quickly"][i % 2]} {i}",{["great", "other"][i % 2]}\n'
        for i in range(20)
    )
    source = make_ready_version(provider, django_capture_on_commit_callbacks, content=reviews, title="Reviews")
    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(provider),
            user=provider,
            sources=[source.pk],
            method="llm",
            rows=8,
            params={
                "model": "tiny-random-llama",
                "mode": "generate",
                "text_column": "review",
                "label_column": "score",
                "max_new_tokens": 12,
                "min_chars": 1,
            },
        )
    synthesis.refresh_from_db()

    job = synthesis.job
    if job.status == "failed":
        assert "filtered out" in job.error  # a random tiny model may produce nothing usable; the message says why
        return
    assert job.status == "succeeded", job.error
    output = synthesis.output_version
    assert [c["name"] for c in output.schema] == ["review", "score", "provenance"]
    assert synthesis.report["model"] == "tiny-random-llama" and synthesis.report["rows_asked"] == 8
    # What the filters removed is made up by generating more, up to four times the first round's 8 texts.
    assert 8 <= synthesis.report["generated"] <= 32 and synthesis.report["rows"] <= 8
    assert synthesis.report["rows"] + sum(synthesis.report["dropped"].values()) == synthesis.report["generated"]
    # The real reviews teach a classifier their labels, so "auto" checks every generated row's label against it.
    assert synthesis.report["label_check"]["mode"] == "auto" and synthesis.report["label_check"]["applied"] is True
    assert set(synthesis.report["embedding_spread"]) == {"synthetic", "real"}
    from django.test import Client

    from tests.conftest import PASSWORD

    web = Client()
    web.login(username=provider.username, password=PASSWORD)
    assert 'id="synthesis-text"' in web.get(f"/synthesis/jobs/{synthesis.pk}/").content.decode()


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the service catches it."""


def test_a_synthesis_retried_after_its_worker_died_finishes_its_own_output_version(
    source, provider, django_capture_on_commit_callbacks, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    import synthesis.services as services
    from marketplace.models import Job

    real_store = services._store_output

    def store_then_die(**kwargs):
        real_store(**kwargs)
        raise WorkerKilled()

    monkeypatch.setattr(services, "_store_output", store_then_die)
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        synthesis_job_create(organization=org_of(provider), user=provider, sources=[source.pk], method="cart", rows=30)
    synthesis = SynthesisJob.objects.get()
    Job.objects.filter(pk=synthesis.job_id).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    monkeypatch.setattr(services, "_store_output", real_store)

    synthesis = synthesis_run(job_id=synthesis.job_id)

    assert (synthesis.job.status, synthesis.job.attempts) == ("succeeded", 2)
    outputs = DatasetVersion.objects.filter(is_synthetic=True)
    assert [(v.pk, v.status, v.row_count) for v in outputs] == [
        (synthesis.output_version_id, "ready", synthesis.report["rows"])
    ]


def test_a_quality_score_the_evaluator_cannot_compute_is_stored_as_null(
    source, provider, django_capture_on_commit_callbacks, monkeypatch
):
    import synthesis.services as services

    real_evaluate = services.evaluate

    def evaluate_with_a_nan(*args, **kwargs):
        report = real_evaluate(*args, **kwargs)
        report.quality["column_pair_trends"] = float("nan")  # what SDMetrics gives when no pair is usable
        return report

    monkeypatch.setattr(services, "evaluate", evaluate_with_a_nan)
    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(provider), user=provider, sources=[source.pk], method="cart", rows=20
        )
    synthesis.refresh_from_db()

    assert synthesis.job.status == "succeeded", synthesis.job.error
    assert synthesis.report["quality"]["column_pair_trends"] is None


def test_a_named_method_never_delivers_a_copy_of_a_unique_real_record(provider, django_capture_on_commit_callbacks):
    """Tried as a new user would: cart on an 80-row table returned 36 rows identical to real rows."""
    import pandas as pd
    from django.core.files.storage import default_storage

    rows = "score,plan,visits\n" + "".join(f"{20 + i},{['a', 'b'][i % 2]},{i % 7}\n" for i in range(80))
    source = make_ready_version(provider, django_capture_on_commit_callbacks, content=rows, title="Small")
    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(provider), user=provider, sources=[source.pk], method="cart", rows=80
        )
    synthesis.refresh_from_db()

    assert synthesis.job.status == "succeeded", synthesis.job.error
    with default_storage.open(synthesis.output_version.data_path, "rb") as handle:
        delivered = pd.read_parquet(handle)
    real = {(20 + i, ["a", "b"][i % 2], i % 7) for i in range(80)}
    copies = [row for row in delivered.itertuples(index=False, name=None) if tuple(row) in real]
    assert copies == [] and synthesis.report["delivered_exact_copy_rate"] == 0.0
    # The copies removed were made up by drawing more: the buyer gets the 80 rows asked for.
    assert synthesis.report["rare_real_rows_copied_and_removed"] > 0
    assert synthesis.report["rows"] == len(delivered) == 80
    assert synthesis.report["real_duplicate_rate"] == 0.0
    assert 0.0 <= synthesis.report["membership_inference_auc"] <= 1.0
    assert synthesis.report["warnings"][0].startswith("Small table (80 rows)")
    # The report's DCR share is the guard's, read on many synthetic rows of a small table, not the 40 it scores.
    assert synthesis.report["dcr_share_rows"] == 2000 and 0.0 <= synthesis.report["dcr_share"] <= 1.0


def test_a_named_method_whose_rows_copy_real_rows_fails_the_job_and_delivers_nothing(
    provider, django_capture_on_commit_callbacks, monkeypatch
):
    from synthesis import tabular

    monkeypatch.setattr(
        tabular,
        "_fit_sample",
        lambda name, frame, rows, config, models=None: frame.sample(rows, replace=True, random_state=0),
    )
    rows = "score,plan,visits\n" + "".join(f"{20 + i},{['a', 'b'][i % 2]},{i % 7}\n" for i in range(200))
    source = make_ready_version(provider, django_capture_on_commit_callbacks, content=rows, title="Copied")
    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(provider), user=provider, sources=[source.pk], method="gaussian_copula", rows=50
        )
    synthesis.refresh_from_db()

    assert synthesis.job.status == "failed"
    assert "gaussian_copula produced rows closer to the real rows it learnt from" in synthesis.job.error
    assert synthesis.output_version is None


def test_a_named_target_is_generated_last_and_the_page_says_so(source, provider, django_capture_on_commit_callbacks):
    from django.test import Client

    from tests.conftest import PASSWORD

    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(provider),
            user=provider,
            sources=[source.pk],
            method="gaussian_copula",
            rows=80,
            params={"target": "plan"},
        )
    synthesis.refresh_from_db()

    assert synthesis.job.status == "succeeded", synthesis.job.error
    assert synthesis.report["target_aware"].startswith("plan was drawn last for every synthetic row")
    web = Client()
    web.login(username=provider.username, password=PASSWORD)
    assert 'id="synthesis-target"' in web.get(f"/synthesis/jobs/{synthesis.pk}/").content.decode()
    assert "drawn at temperature 0.25" in synthesis.report["target_aware"]


@pytest.mark.parametrize("value", [0, -0.5, 1.5, "cold", True, None])
def test_a_target_temperature_outside_0_to_1_is_refused_before_any_job(source, provider, value):
    with pytest.raises(ApplicationError, match="target_temperature must be a number above 0") as refused:
        synthesis_job_create(
            organization=org_of(provider),
            user=provider,
            sources=[source.pk],
            method="gaussian_copula",
            rows=80,
            params={"target": "plan", "target_temperature": value},
        )
    assert refused.value.status == 400 and not SynthesisJob.objects.exists()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"targt": "plan"}, "Unknown params for method 'cart': targt."),
        ({"target": ["plan"]}, "params.target must be a column name"),
        ({"epochs": "ten"}, "params.epochs must be an integer."),
        ({"epochs": 0}, "params.epochs must be between 1 and 1000."),
        ({"seed": -1}, "params.seed must be between 0 and"),
        ({"seed": 1.5}, "params.seed must be an integer."),
        ({"time_budget_s": "x"}, "params.time_budget_s must be a number."),
        ({"time_budget_s": -5}, "params.time_budget_s must be between 10 and 3600."),
        ({"time_budget_s": True}, "params.time_budget_s must be a number."),
    ],
)
def test_a_tabular_job_with_an_unknown_or_malformed_param_is_refused_before_any_job(source, provider, params, message):
    """Before, these ran: a typo was ignored (the job ran with no target), a seed of -1 or an epoch count of "ten"
    failed the queued job with Python's own words, and a negative budget ran auto with no time at all."""
    with pytest.raises(ApplicationError, match=re.escape(message)) as refused:
        synthesis_job_create(
            organization=org_of(provider), user=provider, sources=[source.pk], method="cart", rows=80, params=params
        )
    assert refused.value.status == 400 and refused.value.extra == {"field": "params"}
    assert not SynthesisJob.objects.exists()


def test_a_tabular_jobs_params_through_the_api_are_checked_in_the_language_asked(source, provider):
    api = api_client_for(provider)
    url = "/api/v1/synthesis-jobs/"
    body = {"sources": [source.pk], "method": "auto", "rows": 50, "params": {"epochs": "ten"}}
    refused = api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 400 and refused.json()["message"] == "params.epochs 必须是 整数。"
    fine = {**body, "params": {"target": "plan", "seed": 3, "epochs": 5, "time_budget_s": 30.5}}
    accepted = api.post(url, fine, format="json")
    assert accepted.status_code == 202 and accepted.json()["params"] == fine["params"]
