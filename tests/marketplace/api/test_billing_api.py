"""Pricing plans, usage, billing and royalties end to end through the API, as providers and buyers use them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import Invoice, LedgerEntry, License, Listing, UsageRecord
from marketplace.services.billing import billing_run, license_expiries_announce, usage_record
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.publishing import listing_approve
from tests.conftest import _persona, api_client_for, make_ready_version, org_of
from tests.training.test_services import PARAMS, PHRASES

TERMS = {"download": True, "synthetic_derivatives": True, "model_training": True, "commercial_use": True}


def _period() -> str:
    return timezone.now().strftime("%Y-%m")


def _reviews(rows: int, offset: int = 0) -> str:
    return "review,label\n" + "".join(
        f'"{PHRASES[i % 4]} {i + offset}",{["great", "other"][i % 2]}\n' for i in range(rows)
    )


def _publish(user, version, **fields) -> dict:
    """A provider lists a version through the API, an operator approves it, and the listing is returned."""
    client = api_client_for(user)
    body = {"dataset_version": version.pk, "title": f"Reviews of {user.username}", "terms": TERMS, **fields}
    created = client.post("/api/v1/listings/", body, format="json")
    assert created.status_code == 201, created.data
    assert client.post(f"/api/v1/listings/{created.data['id']}/submit/").status_code == 200
    listing_approve(listing=Listing.objects.get(pk=created.data["id"]), operator=None)
    listed = client.get(f"/api/v1/listings/{created.data['id']}/").data
    assert listed["status"] == "published", listed
    return listed


def _buy(user, listing_id: int, key: str, **body) -> dict:
    response = api_client_for(user).post(
        f"/api/v1/listings/{listing_id}/purchase/", body, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code in (200, 201), response.data
    return response.data["license"]


def _train(user, versions_and_weights, capture) -> dict:
    with capture(execute=True):
        response = api_client_for(user).post(
            "/api/v1/training-jobs/",
            {
                "base_model": "tiny-random-bert",
                "task": "text-classification",
                "mix": [{"version": v.pk, "weight": w} for v, w in versions_and_weights],
                "text_column": "review",
                "label_column": "label",
                "params": PARAMS,
            },
            format="json",
        )
    assert response.status_code == 202, response.data
    job = api_client_for(user).get(f"/api/v1/training-jobs/{response.data['id']}/").data
    assert job["status"] == "succeeded", job
    return job


@pytest.fixture
def three_providers(provider, django_capture_on_commit_callbacks):
    """Three providers, each with a metered listing of reviews at its own price per 1,000 rows."""
    users = [provider, _persona("prov2", "Second Provider"), _persona("prov3", "Third Provider")]
    out = []
    for n, (user, per_1k) in enumerate(zip(users, (120, 250, 999), strict=True)):
        version = make_ready_version(
            user, django_capture_on_commit_callbacks, content=_reviews(40 + 20 * n, 1000 * n), title="Reviews"
        )
        listing = _publish(user, version, pricing={"metered": {"per_1k_rows": per_1k}})
        out.append((user, version, listing))
    return out


def test_a_three_provider_training_mix_bills_each_licence_by_its_rows_and_the_royalties_sum_to_the_fee(
    three_providers, buyer, django_capture_on_commit_callbacks
):
    for user, _, listing in three_providers:
        assert listing["plan_kind"] == "metered"
        license = _buy(buyer, listing["id"], f"k-{user.username}")
        assert license["plan"]["metered"]["per_1k_rows"] == listing["pricing"]["metered"]["per_1k_rows"]
        assert license["price"] == 0
    mix = [(three_providers[0][1], 1), (three_providers[1][1], 1), (three_providers[2][1], 2)]
    job = _train(buyer, mix, django_capture_on_commit_callbacks)
    model = api_client_for(buyer).get(f"/api/v1/models/{job['model']}/").data

    # One usage record per licensed version, with the model's rows from it times the epochs.
    usage = api_client_for(buyer).get("/api/v1/usage/?role=buyer").data
    rows_by_version = {entry["version"]: entry["training_rows"] for entry in model["lineage"]}
    assert sorted((u["dataset_version"], u["quantity"]) for u in usage) == sorted(
        (v.pk, rows_by_version[v.pk] * PARAMS["epochs"]) for _, v, _ in three_providers
    )
    assert all(u["subject_kind"] == "model" and u["subject_id"] == model["id"] and u["billable"] for u in usage)

    summary = billing_run(period=_period())
    assert summary.paid == 1 and summary.failed == 0 and summary.records_billed == 3
    invoice = api_client_for(buyer).get("/api/v1/invoices/").data[0]
    expected = {
        user.username: -(-rows_by_version[version.pk] * listing["pricing"]["metered"]["per_1k_rows"] // 1000)
        for user, version, listing in three_providers
    }
    assert {line["provider"]: line["amount"] for line in invoice["lines"]} == {
        org_of(user).name: expected[user.username] for user, _, _ in three_providers
    }
    assert invoice["total"] == sum(expected.values()) > 0 and invoice["status"] == "paid"

    # The ledger: the buyer's charges equal the providers' payouts plus the platform's fee, per line and in total.
    entries = LedgerEntry.objects.filter(invoice_id=invoice["id"])
    assert sum(e.amount for e in entries) == 0
    payouts = {e.organization_id: e.amount for e in entries if e.kind == "provider_payout"}
    fees = sum(e.amount for e in entries if e.kind == "platform_fee")
    assert sum(payouts.values()) + fees == invoice["total"]
    for user, version, _ in three_providers:
        royalties = api_client_for(user).get("/api/v1/royalties/").data
        assert royalties == [
            {
                "buyer": "Buyer Org",
                "built": "model",
                "id": model["id"],
                "name": model["name"],
                "license": License.objects.get(buyer=org_of(buyer), listing__organization=org_of(user)).pk,
                "listing": f"Reviews of {user.username}",
                "rows": rows_by_version[version.pk] * PARAMS["epochs"],
            }
        ]
        assert payouts[org_of(user).pk] == expected[user.username] - expected[user.username] * 1500 // 10_000
        # Each provider sees the usage of its own data, not the others'.
        assert [u["dataset_version"] for u in api_client_for(user).get("/api/v1/usage/?role=provider").data] == [
            version.pk
        ]


def test_a_repeated_billing_run_bills_nothing_twice_and_later_usage_goes_to_the_next_invoice(three_providers, buyer):
    _, version, listing = three_providers[0]
    license = License.objects.get(pk=_buy(buyer, listing["id"], "once")["id"])

    def use(key: str, rows: int) -> None:
        usage_record(key=key, license=license, version=version, kind="rows_read", quantity=rows, subject_kind="model")

    use("a", 10_000)
    use("a", 10_000)  # a retried job writes nothing new
    first = billing_run(period=_period())
    again = billing_run(period=_period())
    assert (first.paid, first.records_billed) == (1, 1) and again.to_dict()["invoices"] == []
    use("b", 5_000)
    later = billing_run(period=_period())
    invoices = api_client_for(buyer).get("/api/v1/invoices/").data
    assert [(i["sequence"], i["total"]) for i in invoices] == [(2, 600), (1, 1200)]
    assert later.records_billed == 1
    assert LedgerEntry.objects.filter(invoice__buyer=org_of(buyer), kind="buyer_charge").count() == 2


def test_a_monthly_cap_bounds_what_a_licence_is_billed_across_the_invoices_of_a_month(
    provider, buyer, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(30))
    listing = _publish(provider, version, pricing={"metered": {"per_1k_rows": 100, "monthly_cap": 1500}})
    license = License.objects.get(pk=_buy(buyer, listing["id"], "cap")["id"])
    for key, rows in (("x", 10_000), ("y", 10_000)):
        usage_record(key=key, license=license, version=version, kind="rows_read", quantity=rows, subject_kind="model")
        billing_run(period=_period())
    lines = [i["lines"][0] for i in reversed(api_client_for(buyer).get("/api/v1/invoices/").data)]
    assert [(line["amount_uncapped"], line["amount"]) for line in lines] == [(1000, 1000), (1000, 500)]


def test_a_failed_charge_suspends_metered_use_with_its_reason_until_the_invoice_is_paid(
    provider, django_capture_on_commit_callbacks
):
    payer = _persona("decl", "Decline Corp")  # the test gateway declines payers whose reference says "decline"
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(30))
    listing = _publish(provider, version, pricing={"metered": {"per_1k_rows": 100}})
    license = License.objects.get(pk=_buy(payer, listing["id"], "d")["id"])
    usage_record(key="u", license=license, version=version, kind="rows_read", quantity=3000, subject_kind="model")

    summary = billing_run(period=_period())
    assert summary.failed == 1
    invoice = api_client_for(payer).get("/api/v1/invoices/").data[0]
    assert invoice["status"] == "failed" and "declined" in invoice["failure_reason"]
    assert not LedgerEntry.objects.filter(invoice_id=invoice["id"]).exists()
    refused = version_entitlement(org=org_of(payer), version=version, action=Action.TRAIN)
    assert not refused.allowed and invoice["number"] in refused.reason and "suspended" in refused.reason
    assert version_entitlement(org=org_of(payer), version=version, action=Action.VIEW).allowed

    org = org_of(payer)
    org.slug = "paying-corp"  # the buyer fixes its payment method
    org.save()
    paid = api_client_for(payer).post(f"/api/v1/invoices/{invoice['id']}/retry/")
    assert paid.status_code == 200 and paid.data["status"] == "paid" and paid.data["attempts"] == 2
    assert version_entitlement(org=org_of(payer), version=version, action=Action.TRAIN).allowed
    assert sum(e.amount for e in LedgerEntry.objects.filter(invoice_id=invoice["id"])) == 0
    again = api_client_for(payer).post(f"/api/v1/invoices/{invoice['id']}/retry/")
    assert again.status_code == 409
    assert api_client_for(provider).post(f"/api/v1/invoices/{invoice['id']}/retry/").status_code == 404


def test_a_trial_is_once_per_organisation_free_of_charge_and_stops_when_its_rows_are_used(
    provider, buyer, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(30))
    listing = _publish(
        provider, version, price=5000, pricing={"metered": {"per_1k_rows": 100}, "trial": {"days": 14, "rows": 100}}
    )
    assert listing["plan_kind"] == "base_plus_metered"
    catalog = api_client_for(buyer).get("/api/v1/catalog/?trial=true&plan=base_plus_metered").data["results"]
    assert [c["id"] for c in catalog] == [listing["id"]]
    assert catalog[0]["plan_words"] == ["$50.00 once", "$1.00 per 1,000 rows used", "free trial: 14 days, 100 rows"]
    assert api_client_for(buyer).get("/api/v1/catalog/?plan=free").data["results"] == []

    trial = _buy(buyer, listing["id"], "t1", trial=True)
    assert trial["is_trial"] and trial["price"] == 0 and trial["plan"]["kind"] == "trial"
    assert timedelta(days=13) < License.objects.get(pk=trial["id"]).expires_at - timezone.now() <= timedelta(days=14)
    second = api_client_for(buyer).post(
        f"/api/v1/listings/{listing['id']}/purchase/", {"trial": True}, format="json", HTTP_IDEMPOTENCY_KEY="t2"
    )
    assert second.status_code == 409 and str(trial["id"]) in second.data["message"]
    assert not LedgerEntry.objects.filter(license_id=trial["id"]).exists()

    license = License.objects.get(pk=trial["id"])
    record = usage_record(
        key="trial-use", license=license, version=version, kind="rows_read", quantity=120, subject_kind="model"
    )
    assert record.billable is False
    refused = version_entitlement(org=org_of(buyer), version=version, action=Action.TRAIN)
    assert not refused.allowed and "trial" in refused.reason and "buy the listing" in refused.reason
    assert billing_run(period=_period()).invoices == []

    bought = _buy(buyer, listing["id"], "full")
    assert not bought["is_trial"] and bought["price"] == 5000 and bought["id"] != trial["id"]
    assert version_entitlement(org=org_of(buyer), version=version, action=Action.TRAIN).license.pk == bought["id"]


def test_a_subscription_expires_and_is_announced_once(provider, buyer, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(30))
    listing = _publish(provider, version, price=900, terms={**TERMS, "duration_days": 30})
    assert listing["plan_kind"] == "subscription"
    license = _buy(buyer, listing["id"], "sub")
    assert license["plan"]["kind"] == "subscription" and license["plan"]["duration_days"] == 30
    assert license_expiries_announce() == []
    License.objects.filter(pk=license["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert license_expiries_announce() == [license["id"]]
    assert license_expiries_announce() == []


def test_a_licensed_download_is_metered_by_the_bytes_it_delivered(provider, buyer, django_capture_on_commit_callbacks):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(30))
    listing = _publish(provider, version, pricing={"metered": {"per_gb": 10**12}})  # a price that shows on a small file
    _buy(buyer, listing["id"], "dl")
    response = api_client_for(buyer).get(f"/api/v1/versions/{version.pk}/download/?format=csv")
    body = b"".join(response.streaming_content)  # the test client closes the response once it is read
    record = UsageRecord.objects.get(kind="bytes_downloaded")
    assert record.quantity == len(body) > 0 and record.billable and record.buyer == org_of(buyer)
    # The provider downloading its own data is not metered.
    own = api_client_for(provider).get(f"/api/v1/versions/{version.pk}/download/?format=csv")
    b"".join(own.streaming_content)
    assert UsageRecord.objects.count() == 1
    billing_run(period=_period())
    assert Invoice.objects.get().total == -(-len(body) * 10**12 // 10**9)


@pytest.mark.parametrize(
    "pricing, field",
    [
        ({"metered": {"per_1k_rows": 0, "per_gb": 0}}, "pricing.metered"),
        ({"metered": {"per_1k_rows": -1}}, "pricing"),
        ({"trial": {}}, "pricing.trial"),
        ({"trial": {"days": 400}}, "pricing"),
        ({"surprise": 1}, "pricing"),
    ],
)
def test_a_bad_plan_is_refused_with_the_field_to_fix(provider, django_capture_on_commit_callbacks, pricing, field):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(10))
    response = api_client_for(provider).post(
        "/api/v1/listings/", {"dataset_version": version.pk, "title": "T", "pricing": pricing}, format="json"
    )
    assert response.status_code == 400, response.data
    assert field in str(response.data)


def test_usage_and_invoices_are_private_to_their_parties(three_providers, buyer, outsider):
    _, version, listing = three_providers[0]
    license = License.objects.get(pk=_buy(buyer, listing["id"], "p")["id"])
    usage_record(key="p", license=license, version=version, kind="rows_read", quantity=5, subject_kind="model")
    billing_run(period=_period())
    invoice = Invoice.objects.get()
    assert api_client_for(outsider).get("/api/v1/usage/").data == []
    assert api_client_for(outsider).get("/api/v1/invoices/").data == []
    assert api_client_for(outsider).get(f"/api/v1/invoices/{invoice.pk}/").status_code == 404
    assert api_client_for(three_providers[1][0]).get("/api/v1/royalties/").data == []
    assert api_client_for(None).get("/api/v1/usage/").status_code == 401


@pytest.mark.parametrize(
    "role, expected",
    [("anonymous", 401), ("outsider", 404), ("provider_member", 404), ("provider", 404), ("buyer", 200)],
)
def test_only_the_buyer_pays_its_failed_invoice(
    request, provider, provider_member, buyer, outsider, monkeypatch, django_capture_on_commit_callbacks, role, expected
):
    from marketplace.errors import ApplicationError
    from marketplace.services import payments

    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(20))
    listing = _publish(provider, version, pricing={"metered": {"per_1k_rows": 100}})
    license = License.objects.get(pk=_buy(buyer, listing["id"], "r")["id"])
    usage_record(key="r", license=license, version=version, kind="rows_read", quantity=2000, subject_kind="model")

    def declined(self, **kwargs):
        raise ApplicationError("Card expired.", status=402)

    with monkeypatch.context() as patch:
        patch.setattr(payments.TestGateway, "charge", declined)
        billing_run(period=_period())
    invoice = Invoice.objects.get()
    assert invoice.status == "failed"

    user = None if role == "anonymous" else request.getfixturevalue(role)
    response = api_client_for(user).post(f"/api/v1/invoices/{invoice.pk}/retry/")
    assert response.status_code == expected
    invoice.refresh_from_db()
    license.refresh_from_db()
    if expected == 200:
        assert invoice.status == "paid" and license.metered_suspended_reason == ""
    else:
        assert (
            invoice.status == "failed" and invoice.attempts == 1 and "Card expired." in license.metered_suspended_reason
        )
        assert not LedgerEntry.objects.filter(invoice=invoice).exists()


def test_a_synthesis_job_across_two_providers_records_the_rows_it_read_from_each_and_the_rows_it_made(
    three_providers, buyer, django_capture_on_commit_callbacks
):
    from synthesis.services import synthesis_job_create

    sources = three_providers[:2]
    for user, _, listing in sources:
        _buy(buyer, listing["id"], f"s-{user.username}")
    with django_capture_on_commit_callbacks(execute=True):
        synthesis = synthesis_job_create(
            organization=org_of(buyer), user=buyer, sources=[v.pk for _, v, _ in sources], method="cart", rows=50
        )
    synthesis.refresh_from_db()
    assert synthesis.job.status == "succeeded", synthesis.job.error
    output = synthesis.output_version
    records = {(r.dataset_version_id, r.kind): r for r in UsageRecord.objects.filter(job=synthesis.job)}
    assert set(records) == {(v.pk, kind) for _, v, _ in sources for kind in ("rows_read", "synthetic_rows")}
    for _, version, _ in sources:
        assert records[(version.pk, "rows_read")].quantity == version.row_count
        assert records[(version.pk, "rows_read")].billable
        made = records[(version.pk, "synthetic_rows")]
        assert made.quantity == output.row_count and not made.billable and made.subject_id == output.pk
    # The provider's royalties name the synthetic version built from its rows.
    royalties = api_client_for(sources[0][0]).get("/api/v1/royalties/").data
    assert [(r["built"], r["id"], r["rows"]) for r in royalties] == [
        ("synthetic_version", output.pk, sources[0][1].row_count)
    ]


def test_the_billing_command_bills_every_open_period_and_prints_json(three_providers, buyer):
    import json
    from io import StringIO

    from django.core.management import call_command

    _, version, listing = three_providers[0]
    license = License.objects.get(pk=_buy(buyer, listing["id"], "cmd")["id"])
    usage_record(key="c1", license=license, version=version, kind="rows_read", quantity=1000, subject_kind="model")
    old = usage_record(key="c0", license=license, version=version, kind="rows_read", quantity=500, subject_kind="model")
    UsageRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    out = StringIO()
    call_command("billing_run", stdout=out)
    periods = json.loads(out.getvalue())["periods"]
    assert [(p["period"], p["paid"], p["records_billed"]) for p in periods] == [
        ((timezone.now() - timedelta(days=40)).strftime("%Y-%m"), 1, 1),
        (_period(), 1, 1),
    ]
    again = StringIO()
    call_command("billing_run", stdout=again)
    assert json.loads(again.getvalue()) == {"periods": []}
    with pytest.raises(Exception, match="YYYY-MM"):
        call_command("billing_run", "--period", "2026-13")


def test_base_plus_metered_charges_the_base_at_purchase_and_the_use_at_billing(
    provider, buyer, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(30))
    listing = _publish(provider, version, price=2500, pricing={"metered": {"per_1k_rows": 40}})
    license = License.objects.get(pk=_buy(buyer, listing["id"], "bm")["id"])
    assert license.plan["kind"] == "base_plus_metered"
    base = LedgerEntry.objects.filter(license=license, invoice__isnull=True)
    assert sorted(e.amount for e in base) == [-2500, 375, 2125]
    usage_record(key="bm", license=license, version=version, kind="rows_read", quantity=25_000, subject_kind="model")
    billing_run(period=_period())
    invoice = Invoice.objects.get()
    assert invoice.total == 1000 and sum(e.amount for e in LedgerEntry.objects.filter(license=license)) == 0


def test_usage_and_invoices_reach_a_real_webhook_receiver_signed(
    three_providers, buyer, django_capture_on_commit_callbacks
):
    import hashlib
    import hmac
    import json

    from tests.marketplace.services.test_webhooks import Receiver

    receiver = Receiver([200])
    try:
        hook = (
            api_client_for(buyer)
            .post(
                "/api/v1/webhooks/",
                {"url": receiver.url, "events": ["usage.recorded", "invoice.issued"]},
                format="json",
            )
            .data
        )
        _, version, listing = three_providers[0]
        license = License.objects.get(pk=_buy(buyer, listing["id"], "wh")["id"])
        with django_capture_on_commit_callbacks(execute=True):
            usage_record(
                key="wh", license=license, version=version, kind="rows_read", quantity=4000, subject_kind="model"
            )
        with django_capture_on_commit_callbacks(execute=True):
            billing_run(period=_period())
    finally:
        receiver.close()
    events = []
    for headers, body in receiver.received:
        parts = dict(item.split("=", 1) for item in headers["Tessera-Signature"].split(","))
        expected = hmac.new(hook["secret"].encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, parts["v1"])
        events.append(json.loads(body))
    assert [e["type"] for e in events] == ["usage.recorded", "invoice.issued"]
    assert events[0]["data"]["quantity"] == 4000 and events[1]["data"]["total"] == 480
    assert events[1]["data"]["status"] == "paid" and events[1]["data"]["lines"][0]["rows"] == 4000


def test_an_invoice_left_uncharged_by_a_stopped_run_is_charged_once_by_the_next_run(
    three_providers, buyer, monkeypatch
):
    from marketplace.services import billing

    _, version, listing = three_providers[0]
    license = License.objects.get(pk=_buy(buyer, listing["id"], "stop")["id"])
    usage_record(key="s", license=license, version=version, kind="rows_read", quantity=10_000, subject_kind="model")
    with monkeypatch.context() as patch:  # the run stops after issuing the invoice, before charging it
        patch.setattr(billing, "invoice_charge", lambda *, invoice: invoice)
        billing_run(period=_period())
    invoice = Invoice.objects.get()
    assert invoice.status == "issued" and not LedgerEntry.objects.filter(invoice=invoice).exists()
    assert not License.objects.get(pk=license.pk).metered_suspended_reason

    summary = billing.billing_run_open()
    invoice.refresh_from_db()
    assert [s.to_dict()["invoices"] for s in summary] == [[invoice.pk]] and invoice.status == "paid"
    assert sum(e.amount for e in LedgerEntry.objects.filter(invoice=invoice)) == 0
    assert LedgerEntry.objects.filter(invoice=invoice, kind="buyer_charge").get().amount == -1200
    assert billing.billing_run_open() == []


def test_a_buyer_whose_licence_was_revoked_cannot_start_a_trial_to_get_the_data_back(
    provider, buyer, django_capture_on_commit_callbacks
):
    from marketplace.services.licensing import license_revoke

    version = make_ready_version(provider, django_capture_on_commit_callbacks, content=_reviews(20))
    listing = _publish(provider, version, pricing={"trial": {"days": 7}})
    bought = License.objects.get(pk=_buy(buyer, listing["id"], "paid")["id"])
    license_revoke(license=bought, operator=provider, reason="misuse", organization=org_of(provider))
    refused = api_client_for(buyer).post(
        f"/api/v1/listings/{listing['id']}/purchase/", {"trial": True}, format="json", HTTP_IDEMPOTENCY_KEY="again"
    )
    assert refused.status_code == 409 and "approval" in refused.data["message"]
    assert License.objects.filter(buyer=org_of(buyer)).count() == 1
