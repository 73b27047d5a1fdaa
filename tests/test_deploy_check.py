"""The production settings the README documents pass Django's deployment checks."""

import os
import secrets
import subprocess
from pathlib import Path

from tests.conftest import ROOT, manage_py

PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(60),
    "TESSERA_ALLOWED_HOSTS": "tessera.example.com",
    "TESSERA_SSL_REDIRECT": "1",
    "TESSERA_HSTS_SECONDS": "31536000",
    "TESSERA_HSTS_INCLUDE_SUBDOMAINS": "1",
    "TESSERA_HSTS_PRELOAD": "1",
    "TESSERA_BEHIND_PROXY": "1",
}


def _check(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings", "TESSERA_HOME": str(tmp_path), **env}
    environment.pop("TESSERA_DEBUG", None)
    return manage_py("check", "--deploy", "--fail-level", "WARNING", env=environment, timeout=300)


def test_check_deploy_passes_with_the_documented_production_settings(tmp_path):
    result = _check(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{name}" in readme for name in PRODUCTION if name != "SECRET_KEY")


def test_check_deploy_fails_without_them(tmp_path):
    result = _check({"SECRET_KEY": PRODUCTION["SECRET_KEY"]}, tmp_path)
    assert result.returncode != 0 and "SECURE_SSL_REDIRECT" in result.stdout + result.stderr
