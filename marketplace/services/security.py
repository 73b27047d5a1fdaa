"""Who is asking, and how often: the client address behind trusted proxies only, login throttling with a
per-account lockout (API token, web login and admin login alike), and a sign-up limit of its own."""

from __future__ import annotations

import ipaddress
import time
from functools import cache

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache as shared_cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext

from marketplace.errors import ApplicationError


@cache
def _trusted_networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _trusted(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in _trusted_networks(tuple(settings.TESSERA_TRUSTED_PROXIES)))


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address. X-Forwarded-For is believed only hop by hop from a trusted proxy (TESSERA_TRUSTED_PROXIES,
    addresses or networks): from the right, every entry a trusted proxy added is skipped and the first other one is
    the client. Anything that is not an IP address ends the walk, so a client cannot write its own "address"."""
    if request is None:
        return None
    address = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    if address is None:
        return None
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    while forwarded and _trusted(address):
        hop = _valid_ip(forwarded.pop())
        if hop is None:
            break
        address = hop
    return address


def _hit(key: str, window_s: int) -> int:
    """Count one event under `key` in a fixed window; returns the count so far (the cache is shared by every web
    process when Redis is configured)."""
    bucket = f"{key}:{int(time.time() // window_s)}"
    shared_cache.add(bucket, 0, timeout=window_s * 2)
    try:
        return shared_cache.incr(bucket)
    except ValueError:  # expired between add and incr
        shared_cache.set(bucket, 1, timeout=window_s * 2)
        return 1


def _account(username: str) -> str:
    """One key per account however its name is typed at the login prompt."""
    return username.strip().lower()


def _lock_key(username: str) -> str:
    return f"login-lock:{_account(username)}"


def login_guard(*, request: HttpRequest | None, username: str) -> None:
    """Refuse a login attempt (429) from an address over its limit, or for an account locked by failed attempts;
    the check comes before the password is tried, so a locked account cannot be opened even with the right one."""
    locked_until = shared_cache.get(_lock_key(username))
    if locked_until and locked_until > time.time():
        minutes = max(1, round((locked_until - time.time()) / 60))
        raise ApplicationError(
            gettext("Too many failed sign-ins for this account. Try again in about %(minutes)s minute(s).")
            % {"minutes": minutes},
            status=429,
        )
    address = client_ip(request) or "unknown"
    if _hit(f"login-ip:{address}", 60) > settings.TESSERA_LOGIN_ATTEMPTS_PER_MINUTE:
        raise ApplicationError(
            gettext("Too many sign-in attempts from your address. Wait a minute and try again."), status=429
        )


def login_record(*, username: str, succeeded: bool) -> None:
    """Count a failed attempt against the account (a lockout after TESSERA_LOGIN_MAX_FAILURES within the lockout
    window), or clear the count after a success."""
    key = f"login-fail:{_account(username)}"
    window = settings.TESSERA_LOGIN_LOCKOUT_S
    if succeeded:
        shared_cache.delete_many([f"{key}:{int(time.time() // window)}", _lock_key(username)])
        return
    if _hit(key, window) >= settings.TESSERA_LOGIN_MAX_FAILURES:
        shared_cache.set(_lock_key(username), time.time() + window, timeout=window)


def signup_guard(*, request: HttpRequest | None) -> None:
    """Sign-ups have their own limit per address, so an attack on logins never blocks new users (and vice versa)."""
    address = client_ip(request) or "unknown"
    if _hit(f"signup-ip:{address}", 3600) > settings.TESSERA_SIGNUPS_PER_HOUR:
        raise ApplicationError(gettext("Too many sign-ups from your address. Try again in an hour."), status=429)


class GuardedModelBackend(ModelBackend):
    """Django's username/password backend behind the login guard: the API token endpoint, the web login and the
    admin login all authenticate through it, so all three share one throttle and one lockout."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs):  # fmt: skip
        try:
            login_guard(request=request, username=username or "")
        except ApplicationError as exc:
            if request is not None:
                request.login_refusal = exc  # the caller shows why (429), not "wrong password"
            raise PermissionDenied(exc.message) from exc
        user = super().authenticate(request, username=username, password=password, **kwargs)
        login_record(username=username or "", succeeded=user is not None)
        return user


def login_refusal(request: HttpRequest) -> ApplicationError | None:
    """Why the guard refused the last login attempt on this request, if it did."""
    return getattr(request, "login_refusal", None)
