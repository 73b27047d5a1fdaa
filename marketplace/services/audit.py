"""Audit events: append-only, written by the services and views that touch data."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from marketplace.models import AuditEvent, Organization
from marketplace.services.security import client_ip


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
