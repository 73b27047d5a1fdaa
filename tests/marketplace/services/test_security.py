"""Brute force and spoofed addresses: the client address behind trusted proxies only, one login throttle and
per-account lockout for the API, the web and the admin, and a sign-up limit of its own."""

import pytest
from django.test import Client, RequestFactory

from marketplace.models import AuditEvent
from marketplace.services.security import client_ip
from tests.conftest import PASSWORD, api_client_for


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),  # no trusted proxy: the header is ignored
        ("10.0.0.2", "198.51.100.7, 10.0.0.1", ["10.0.0.0/8"], "198.51.100.7"),  # rightmost untrusted hop
        ("10.0.0.2", "1.1.1.1, 198.51.100.7", ["10.0.0.0/8"], "198.51.100.7"),  # a client-written hop is not reached
        ("10.0.0.2", "not-an-ip<script>", ["10.0.0.0/8"], "10.0.0.2"),  # garbage ends the walk
        ("not-an-ip", "", [], None),
    ],
)
def test_the_client_address_is_believed_only_from_trusted_proxies(remote, forwarded, trusted, expected, settings):
    settings.TESSERA_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def _token(client, username, password, **headers):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json", **headers)


def test_changing_x_forwarded_for_does_not_reset_the_token_throttle(settings, provider):
    settings.TESSERA_LOGIN_ATTEMPTS_PER_MINUTE, settings.TESSERA_LOGIN_MAX_FAILURES = 5, 1000
    client = api_client_for(None)
    answers = [_token(client, "prov", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code for i in range(7)]
    assert answers == [400] * 5 + [429] * 2


@pytest.mark.parametrize("door", ["api", "web", "admin"])
def test_an_account_is_locked_after_repeated_failures_even_for_the_right_password(door, settings, provider):
    settings.TESSERA_LOGIN_MAX_FAILURES = 5
    provider.is_staff = True
    provider.save()

    def attempt(password: str):
        if door == "api":
            return _token(api_client_for(None), "prov", password)
        path = "/login/" if door == "web" else "/admin/login/"
        return Client().post(path, {"username": "prov", "password": password})

    for _ in range(5):
        attempt("wrong")
    refused = attempt(PASSWORD)

    if door == "api":
        assert refused.status_code == 429 and "Too many failed sign-ins" in refused.json()["message"]
    else:
        assert refused.status_code == 200 and "Too many failed sign-ins" in refused.content.decode()
        assert "_auth_user_id" not in refused.wsgi_request.session
    # Another account is not locked by these attempts.
    assert _token(api_client_for(None), "nobody", "x").status_code == 400


def test_a_success_before_the_limit_clears_the_failures(settings, provider):
    settings.TESSERA_LOGIN_MAX_FAILURES = 3
    client = api_client_for(None)
    for _ in range(2):
        _token(client, "prov", "wrong")
    assert _token(client, "prov", PASSWORD).status_code == 200
    for _ in range(2):
        _token(client, "prov", "wrong")
    assert _token(client, "prov", PASSWORD).status_code == 200


def test_sign_ups_have_their_own_limit_and_a_login_attack_does_not_block_them(settings, provider):
    settings.TESSERA_LOGIN_ATTEMPTS_PER_MINUTE, settings.TESSERA_SIGNUPS_PER_HOUR = 3, 2
    client = api_client_for(None)
    for _ in range(4):
        _token(client, "prov", "wrong")

    def register(name):
        body = {"username": name, "password": "a-long-passphrase", "organization": name}
        return client.post("/api/v1/auth/register/", body, format="json")

    assert [register(name).status_code for name in ("ana", "ben", "cy")] == [201, 201, 429]


def test_the_audit_log_never_records_a_forwarded_address_written_by_the_client(provider, buyer, settings):
    settings.TESSERA_TRUSTED_PROXIES = []
    client = api_client_for(provider)
    client.get("/api/v1/versions/987654/", HTTP_X_FORWARDED_FOR="not-an-ip<script>", REMOTE_ADDR="198.51.100.4")
    assert list(AuditEvent.objects.values_list("ip", flat=True)) == ["198.51.100.4"]
