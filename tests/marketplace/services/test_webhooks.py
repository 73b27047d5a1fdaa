import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from marketplace.models import WebhookDelivery
from marketplace.services import webhooks
from marketplace.services.licensing import listing_purchase
from tests.conftest import api_client_for, make_listing, make_ready_version, org_of


class Receiver:
    """A real local HTTP endpoint: answers each POST with the next scripted status, and keeps what it got."""

    def __init__(self, statuses: list[int]):
        self.statuses, self.received = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                code = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver_factory():
    made = []

    def make(statuses):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def _verify(secret: str, headers: dict, body: bytes) -> dict:
    """What a receiver does: recompute the HMAC over "<t>.<raw body>" and compare in constant time."""
    parts = dict(item.split("=", 1) for item in headers["Tessera-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    return json.loads(body)


def _subscribe(user, url, events):
    response = api_client_for(user).post("/api/v1/webhooks/", {"url": url, "events": events}, format="json")
    assert response.status_code == 201, response.data
    return response.data


def test_a_licence_granted_reaches_both_parties_signed(
    provider, buyer, receiver_factory, django_capture_on_commit_callbacks
):
    version = make_ready_version(provider, django_capture_on_commit_callbacks)
    listing = make_listing(provider, version)
    provider_end, buyer_end = receiver_factory([200]), receiver_factory([204])
    provider_hook = _subscribe(provider, provider_end.url, ["license.granted", "license.revoked"])
    buyer_hook = _subscribe(buyer, buyer_end.url, ["license.granted"])
    assert provider_hook["secret"].startswith("whsec_")
    assert "secret" not in api_client_for(provider).get("/api/v1/webhooks/").data[0]

    with django_capture_on_commit_callbacks(execute=True):
        license, _ = listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="w")

    for end, hook in ((provider_end, provider_hook), (buyer_end, buyer_hook)):
        assert len(end.received) == 1
        headers, body = end.received[0]
        event = _verify(hook["secret"], headers, body)
        assert event["type"] == "license.granted" and event["data"]["license"] == license.pk
        assert set(event) == {"id", "type", "created", "data"} and headers["Tessera-Event-Id"] == event["id"]
    log = api_client_for(provider).get(f"/api/v1/webhooks/{provider_hook['id']}/deliveries/").data
    assert [(d["status"], len(d["attempts"]), d["attempts"][0]["status_code"]) for d in log] == [("succeeded", 1, 200)]


def test_a_failing_receiver_is_retried_with_backoff_and_each_attempt_is_logged(
    provider, receiver_factory, monkeypatch, django_capture_on_commit_callbacks
):
    waits = []
    real_enqueue = webhooks._enqueue

    def recording_enqueue(delivery_id, countdown=0):
        waits.append(countdown)
        real_enqueue(delivery_id, countdown)  # eager in tests: the next attempt runs at once

    monkeypatch.setattr(webhooks, "_enqueue", recording_enqueue)
    flaky = receiver_factory([500, 503, 200])
    hook = _subscribe(provider, flaky.url, ["job.succeeded", "job.failed"])
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(organizations=[org_of(provider)], event_type="job.failed", data={"job": 1})

    delivery = WebhookDelivery.objects.get(webhook_id=hook["id"])
    assert delivery.status == "succeeded" and [a["status_code"] for a in delivery.attempts] == [500, 503, 200]
    assert waits == [0, webhooks.BACKOFF_BASE_S, 2 * webhooks.BACKOFF_BASE_S] and len(flaky.received) == 3
    # Every attempt carries the same event id: a receiver deduplicates on it.
    assert len({headers["Tessera-Event-Id"] for headers, _ in flaky.received}) == 1


def test_a_receiver_that_always_fails_ends_failed_and_can_be_redelivered(
    provider, outsider, receiver_factory, django_capture_on_commit_callbacks
):
    down = receiver_factory([500])
    hook = _subscribe(provider, down.url, ["listing.approved"])
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(organizations=[org_of(provider)], event_type="listing.approved", data={"listing": 7})
    delivery = WebhookDelivery.objects.get(webhook_id=hook["id"])
    assert delivery.status == "failed" and len(delivery.attempts) == webhooks.MAX_ATTEMPTS

    down.statuses = [200]
    url = f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery.pk}/redeliver/"
    assert api_client_for(outsider).post(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client_for(provider).post(url).status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.round == 2 and delivery.attempts[-1]["round"] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "ftp://example.com/x", "events": ["license.granted"]}, "url"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "events": ["license.stolen"]}, "events"),
    ],
)
def test_bad_subscriptions_are_400(provider, body, message):
    response = api_client_for(provider).post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400 and message in str(response.data)


def test_private_addresses_are_refused_unless_allowed(provider, settings):
    settings.TESSERA_WEBHOOK_ALLOW_PRIVATE = False
    body = {"url": "http://127.0.0.1:9/hook", "events": ["license.granted"]}
    response = api_client_for(provider).post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400 and "private address" in response.data["message"]


def test_webhooks_of_another_organisation_are_404_and_delete_stops_deliveries(
    provider, outsider, receiver_factory, django_capture_on_commit_callbacks
):
    end = receiver_factory([200])
    hook = _subscribe(provider, end.url, ["job.succeeded"])
    assert api_client_for(outsider).get(f"/api/v1/webhooks/{hook['id']}/").status_code == 404
    assert api_client_for(outsider).delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 404
    assert api_client_for(provider).delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        sent = webhooks.webhook_emit(organizations=[org_of(provider)], event_type="job.succeeded", data={})
    assert sent == 0 and end.received == []


def test_the_webhooks_page_adds_an_endpoint_shows_its_secret_once_and_redelivers(
    provider, receiver_factory, monkeypatch, django_capture_on_commit_callbacks
):
    from django.test import Client

    from tests.conftest import PASSWORD

    end = receiver_factory([500])
    web = Client()
    web.login(username=provider.username, password=PASSWORD)
    page = web.post("/account/webhooks/", {"url": end.url, "events": ["job.succeeded"]}).content.decode()
    hook = org_of(provider).webhooks.get()
    assert 'id="new-webhook"' in page and hook.secret in page
    assert hook.secret not in web.get("/account/webhooks/").content.decode()
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(organizations=[org_of(provider)], event_type="job.succeeded", data={})
    delivery = hook.deliveries.get()
    assert delivery.status == "failed" and "Redeliver" in web.get("/account/webhooks/").content.decode()
    end.statuses = [200]
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/account/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/")
    delivery.refresh_from_db()
    assert response.status_code == 302 and delivery.status == "succeeded"
    bad = web.post("/account/webhooks/", {"url": "gopher://x", "events": ["job.succeeded"]}).content.decode()
    assert "http(s) URL" in bad


def test_the_webhooks_page_is_reached_from_the_api_tokens_page(provider):
    from django.test import Client

    from tests.conftest import PASSWORD

    web = Client()
    web.login(username=provider.username, password=PASSWORD)
    assert 'href="/account/webhooks/"' in web.get("/account/tokens/").content.decode()
