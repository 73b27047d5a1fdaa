import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from marketplace.services.licensing import listing_purchase
from tests.conftest import api_client_for, make_listing, make_ready_version, org_of
from tests.training.test_services import PARAMS, REVIEWS, _train


def _verify_offline(public_key: str, receipt: dict, signature: str) -> None:
    """What a provider does with any Ed25519 library: canonical JSON (sorted keys, no spaces, UTF-8), then verify."""
    message = json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(base64.b64decode(signature), message)


def test_a_finished_job_issues_a_receipt_its_provider_verifies_with_the_published_key(
    provider, buyer, outsider, django_capture_on_commit_callbacks
):
    reviews = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    listing = make_listing(provider, reviews)
    license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="r")
    training = _train(buyer, [reviews], django_capture_on_commit_callbacks, PARAMS)
    assert training.job.status == "succeeded", training.job.error

    model = api_client_for(buyer).get(f"/api/v1/models/{training.model.pk}/").data
    receipt_id = model["receipt"]
    assert receipt_id and f"/api/v1/receipts/{receipt_id}/" in model["card_markdown"]
    key = api_client_for(None).get("/api/v1/receipts/public-key/").data
    assert key["algorithm"] == "ed25519" and len(base64.b64decode(key["public_key"])) == 32

    # The provider whose data went in reads the receipt of the buyer's model, and verifies it offline.
    body = api_client_for(provider).get(f"/api/v1/receipts/{receipt_id}/").data
    receipt, signature = body["receipt"], body["signature"]
    _verify_offline(key["public_key"], receipt, signature)
    source = receipt["sources"][0]
    assert (source["version"], source["sha256"], source["license"], source["role"]) == (
        reviews.pk,
        reviews.sha256,
        license.pk,
        "training",
    )
    assert source["rows_read"] == training.model.lineage[0]["training_rows"] > 0 and source["epochs"] == 1
    assert receipt["model"]["id"] == training.model.pk and receipt["model"]["base_model"] == "tiny-random-bert"
    assert receipt["receipt_id"] == receipt_id and receipt["optimizer_steps"] > 0

    # One byte changed and the signature no longer holds.
    tampered = {**receipt, "sources": [{**source, "rows_read": source["rows_read"] + 1}]}
    try:
        _verify_offline(key["public_key"], tampered, signature)
    except InvalidSignature:
        pass
    else:
        raise AssertionError("a tampered receipt verified")
    assert [r["receipt"]["receipt_id"] for r in api_client_for(provider).get("/api/v1/receipts/").data] == [receipt_id]
    assert api_client_for(outsider).get(f"/api/v1/receipts/{receipt_id}/").status_code == 404
    assert api_client_for(outsider).get("/api/v1/receipts/").data == []
    assert api_client_for(None).get(f"/api/v1/receipts/{receipt_id}/").status_code == 401
