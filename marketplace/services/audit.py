"""Audit events: append-only, written by the services and views that touch data."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from marketplace.models import AuditEvent, Organization


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind the proxy the first X-Forwarded-For hop is the client; locally REMOTE_ADDR is.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return (forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR")) or None


def audit_record(
    *,
    action: str,
    obj: Any,
    actor: AbstractBaseUser | None = None,
    organization: Organization | None = None,
    subject_organization: Organization | None = None,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
    object_type: str | None = None,
) -> AuditEvent:
    """Append one event. `obj` is a model instance, or a bare primary key with `object_type` naming its kind."""
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        organization=organization,
        subject_organization=subject_organization,
        action=action,
        object_type=object_type or type(obj).__name__.lower(),
        object_id=str(getattr(obj, "pk", obj)),
        ip=client_ip(request),
        detail=detail or {},
    )
