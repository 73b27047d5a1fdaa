"""Accounts: sign-up creates a user and the organisation they own; API tokens are revocable and stored hashed."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from marketplace.errors import ApplicationError
from marketplace.models import ApiToken, Membership, Organization


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def user_register(*, username: str, password: str, email: str, organization: str) -> User:
    """Create a user and a new organisation with that user as its owner."""
    # NFKC folds look-alike forms (full-width letters, ligatures) into one spelling, as Django's own forms do.
    username, organization = User.normalize_username(username.strip()), organization.strip()
    if not username or not organization:
        raise ApplicationError(gettext("Username and organisation name are required."))
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise ApplicationError(
            gettext("A username may contain letters (any language), digits and @ . + - _ only."),
            extra={"field": "username"},
        ) from exc
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(gettext("That username is taken. Choose another one."), extra={"field": "username"})
    slug = slugify(organization, allow_unicode=True)  # "北京数据" is a name, not an empty slug
    if not slug:
        raise ApplicationError(
            gettext("The organisation name needs at least one letter or digit."), extra={"field": "organization"}
        )
    if (
        Organization.objects.filter(name__iexact=organization).exists()
        or Organization.objects.filter(slug=slug).exists()
    ):
        raise ApplicationError(
            gettext("An organisation with that name exists. Ask its owner to add you, or choose another name."),
            extra={"field": "organization"},
        )
    user = User(username=username, email=email.strip())
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), extra={"field": "password"}) from exc
    user.set_password(password)
    try:
        user.save()
        org = Organization.objects.create(name=organization, slug=slug)
    except IntegrityError as exc:  # a concurrent sign-up took the name between our check and the insert
        raise ApplicationError(gettext("That username or organisation was just taken. Try another.")) from exc
    Membership.objects.create(user=user, organization=org, role=Membership.Role.OWNER)
    return user


def membership_add(*, organization: Organization, user: User, role: str = Membership.Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": role})
    return membership


def token_create(*, user: User, name: str = "default") -> tuple[ApiToken, str]:
    """Create a token; the raw key is returned once and only its hash is stored."""
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100] or "default", prefix=key[:8], key_hash=_hash_key(key))
    return token, key


def token_authenticate(*, key: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash_key(key), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Only touch the row once a minute: every API call writing it would serialise requests on SQLite.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
