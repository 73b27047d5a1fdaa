import json
import re

from django.test import Client

from marketplace.services.licensing import listing_purchase
from synthesis.services import synthesis_job_create
from tests.conftest import make_listing, make_ready_version, org_of

ROWS = "customer_id,age,plan,amount\n" + "".join(
    f"{i},{20 + i % 50},{['basic', 'plus', 'gold'][i % 3]},{(i * 37) % 500 + 0.5}\n" for i in range(120)
)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_job_page_shows_the_report_plots_to_the_buyer_only(
    provider, buyer, outsider, django_capture_on_commit_callbacks
):
    source = make_ready_version(provider, django_capture_on_commit_callbacks, content=ROWS, title="Accounts")
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=make_listing(provider, source), idempotency_key="p")
    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(buyer), user=buyer, sources=[source.pk], method="gaussian_copula", rows=60
        )

    page = _client(buyer).get(f"/synthesis/jobs/{synthesis.pk}/")
    found = re.search(r'<script id="synthesis-plots" type="application/json">(.*?)</script>', page.content.decode())
    plots = json.loads(found.group(1))

    assert page.status_code == 200
    assert set(plots["distributions"]) == {"customer_id", "age", "plan", "amount"}
    assert plots["pair_trends"]["columns"] == ["customer_id", "age", "plan", "amount"]
    assert [plots["pair_trends"]["scores"][i][i] for i in range(4)] == [1.0, 1.0, 1.0, 1.0]
    assert _client(outsider).get(f"/synthesis/jobs/{synthesis.pk}/").status_code == 404
    # The privacy figures and what the buyer should know: a membership-inference score, the small-table warning.
    html = page.content.decode()
    assert "Membership inference AUC" in html and 'id="synthesis-warnings"' in html and "Small table (120 rows)" in html


def test_the_synthesis_form_offers_the_versions_columns_and_the_server_refuses_any_other(
    provider, django_capture_on_commit_callbacks
):
    from synthesis.models import SynthesisJob

    source = make_ready_version(provider, django_capture_on_commit_callbacks, content=ROWS, title="Accounts")
    client = _client(provider)
    page = client.get(f"/synthesis/new/?version={source.pk}").content.decode()
    assert '<option value="plan">plan (string)</option>' in page and 'name="text_column"' in page

    refused = client.post(
        "/synthesis/new/", {"version": source.pk, "method": "gaussian_copula", "rows": 10, "target": "nope"}
    )
    assert refused.status_code == 200
    assert "params.target names no column of the source: &#x27;nope&#x27;" in refused.content.decode()
    llm = client.post("/synthesis/new/", {"version": source.pk, "method": "llm", "rows": 5, "text_column": "nope"})
    assert "params.text_column names no column" in llm.content.decode()
    assert not SynthesisJob.objects.exists()


def test_a_text_job_that_fell_short_of_the_rows_asked_says_so(provider, django_capture_on_commit_callbacks):
    source = make_ready_version(provider, django_capture_on_commit_callbacks, content=ROWS, title="Accounts")
    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(provider), user=provider, sources=[source.pk], method="gaussian_copula", rows=60
        )
    report = {"method": "llm", "rows": 3, "rows_asked": 8, "generated": 32, "dropped": {"personal_data": 29}}
    synthesis.report = report
    synthesis.save(update_fields=["report"])

    html = _client(provider).get(f"/synthesis/jobs/{synthesis.pk}/").content.decode()
    assert "3 texts kept of 32 generated" in html and "Fewer than the 8 asked" in html

    synthesis.report = {**report, "rows": 8}
    synthesis.save(update_fields=["report"])
    assert "Fewer than" not in _client(provider).get(f"/synthesis/jobs/{synthesis.pk}/").content.decode()
