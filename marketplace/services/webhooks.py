"""Webhooks: organisations subscribe endpoints to platform events; the `cpu` workers deliver each event as signed
JSON, with retries and exponential backoff, and log every attempt. Emitting never blocks a request: deliveries are
queued after the emitting transaction commits.

Signature (as Stripe's): header `Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with
the endpoint's secret. A receiver recomputes it over the raw body and compares in constant time, and refuses old `t`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from marketplace.errors import ApplicationError
from marketplace.models import Organization, Webhook, WebhookDelivery

EVENTS = (
    "license.granted",
    "license.expired",
    "license.revoked",
    "access_request.created",
    "access_request.decided",
    "listing.approved",
    "listing.rejected",
    "version.updated",
    "job.succeeded",
    "job.failed",
    "usage.recorded",
    "invoice.issued",
)
MAX_WEBHOOKS_PER_ORG = 20
MAX_ATTEMPTS = 6  # the first attempt and five retries
BACKOFF_BASE_S = 30  # retry n waits BACKOFF_BASE_S * 2**(n-1): 30 s, 1 min, 2 min, 4 min, 8 min
TIMEOUT_S = 10


def webhook_sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `Tessera-Signature` header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError(gettext("The webhook URL must be an http(s) URL with a host."), extra={"field": "url"})
    if settings.TESSERA_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError as exc:
        message = f"The webhook host {parts.hostname!r} does not resolve."
        raise ApplicationError(message, extra={"field": "url"}) from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            # Server-side request forgery: the platform's workers must not be steered at its own network.
            raise ApplicationError(
                gettext("The webhook host %(hostname)r resolves to a private address (%(ip)s); use a public endpoint.")
                % {"hostname": parts.hostname, "ip": ip},
                extra={"field": "url"},
            )


@transaction.atomic
def webhook_create(*, organization: Organization, url: str, events: list[str]) -> Webhook:
    """Subscribe `url` to `events`; the returned webhook carries its signing secret, which the API shows once."""
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ApplicationError(
            gettext("events must be a non-empty list of: %(items)s.") % {"items": ", ".join(EVENTS)},
            extra={"field": "events"},
        )
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ApplicationError(
            gettext("Unknown events: %(items)s. Available: %(items2)s.")
            % {"items": ", ".join(unknown), "items2": ", ".join(EVENTS)},
            extra={"field": "events"},
        )
    _check_url(url)
    if Webhook.objects.filter(organization=organization).count() >= MAX_WEBHOOKS_PER_ORG:
        raise ApplicationError(
            gettext("An organisation may have at most %(MAX_WEBHOOKS_PER_ORG)s webhooks.")
            % {"MAX_WEBHOOKS_PER_ORG": MAX_WEBHOOKS_PER_ORG},
            status=409,
        )
    return Webhook.objects.create(
        organization=organization,
        url=url,
        events=sorted(set(events)),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
    )


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


def webhook_emit(*, organizations: list[Organization | None], event_type: str, data: dict[str, Any]) -> int:
    """Queue `event_type` for every active endpoint of `organizations` subscribed to it; returns how many. The
    deliveries go out after the current transaction commits, so a rolled-back action announces nothing."""
    assert event_type in EVENTS, event_type
    org_ids = {org.pk for org in organizations if org is not None}
    hooks = [h for h in Webhook.objects.filter(organization_id__in=org_ids, is_active=True) if event_type in h.events]
    if not hooks:
        return 0
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": event_type, "created": int(time.time()), "data": data}
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(webhook=h, event_id=event_id, event_type=event_type, payload=payload) for h in hooks]
    )
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))
    return len(deliveries)


def _enqueue(delivery_id: int, countdown: float = 0) -> None:
    from marketplace.tasks import webhook_deliver_task

    webhook_deliver_task.apply_async((delivery_id,), countdown=countdown)


def webhook_deliver(*, delivery_id: int) -> float | None:
    """One delivery attempt, logged; a failed one queues the next after its backoff. Returns that backoff in seconds,
    or None when done (delivered, out of attempts, or the endpoint is gone)."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING or not delivery.webhook.is_active:
        return None
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Tessera-Webhooks/1",
            "Tessera-Signature": webhook_sign(secret=delivery.webhook.secret, timestamp=timestamp, body=body),
            "Tessera-Event-Id": str(delivery.event_id),
        },
    )
    started = time.monotonic()
    status_code, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - scheme checked on create
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:300]
    attempt = {
        "round": delivery.round,
        "attempt": sum(1 for a in delivery.attempts if a.get("round") == delivery.round) + 1,
        "at": timezone.now().isoformat(timespec="seconds"),
        "status_code": status_code,
        "error": error,
        "ms": round(1000 * (time.monotonic() - started)),
    }
    delivery.attempts = [*delivery.attempts, attempt]
    ok = status_code is not None and 200 <= status_code < 300
    retry_in = None
    if ok:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.SUCCEEDED, timezone.now()
    elif attempt["attempt"] >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        retry_in = BACKOFF_BASE_S * 2 ** (attempt["attempt"] - 1)
    delivery.save(update_fields=["attempts", "status", "delivered_at"])
    if retry_in is not None:
        # The next attempt is a new message due after the backoff, so no worker waits for it.
        _enqueue(delivery.pk, countdown=retry_in)
    return retry_in


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send an event again (after a fix on the receiver's side): a fresh round of attempts, logged after the old."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, delivered_at=None, round=F("round") + 1
    )
    transaction.on_commit(lambda: _enqueue(delivery.pk))
    delivery.refresh_from_db()
    return delivery
