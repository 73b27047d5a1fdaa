"""Headers every response carries: a Content-Security-Policy that allows no inline script, and cookies that only
travel over HTTPS unless debugging."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.test import Client

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[3]


def test_pages_and_api_answers_carry_a_policy_that_allows_scripts_only_from_this_site(provider, db):
    client = Client()
    for path in ["/", "/catalog/", "/login/", "/api/v1/health/", "/api/docs/"]:
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'", path  # no 'unsafe-inline', no 'unsafe-eval'
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_no_template_holds_an_inline_script():
    """The policy would block one: every script is a static file, and page data travels through json_script."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in (ROOT / "templates").rglob("*.html")
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_api_docs_load_their_script_from_a_url_not_inline(db):
    page = Client().get("/api/docs/").content.decode()
    assert re.search(r"<script>\s*\S", page) is None
    assert '<script src="/api/docs/?script=' in page


def _cookie_settings(debug: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TESSERA_SECURE_COOKIES"}
    env.update({"TESSERA_DEBUG": debug, "DJANGO_SETTINGS_MODULE": "marketplace.settings"})
    code = "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_cookies_are_secure_whenever_debug_is_off():
    assert _cookie_settings("0") == "True True"
    assert _cookie_settings("1") == "False False"


def test_the_session_cookie_is_sent_secure_and_http_only(provider):
    response = Client().post("/login/", {"username": provider.username, "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"]
