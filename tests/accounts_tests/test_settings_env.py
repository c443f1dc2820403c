"""The account and mail settings come from environment variables (a fresh process each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings
from runtime.mail import mail_destination
print(json.dumps({
    "backend": settings.EMAIL_BACKEND,
    "file_path": settings.EMAIL_FILE_PATH,
    "destination": mail_destination(),
    "signup": settings.LOCAL_SIGNUP_ENABLED,
    "signup_domains": settings.SIGNUP_ALLOWED_EMAIL_DOMAINS,
    "oidc": settings.OIDC_ENABLED,
    "oidc_domains": settings.OIDC_ALLOWED_EMAIL_DOMAINS,
    "apps": settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"],
    "form_action": settings.CONTENT_SECURITY_POLICY["form-action"],
}))
"""


def probe(tmp_path: Path, **env: str) -> dict:
    names = ("EMAIL_", "OIDC_", "SIGNUP_", "LOCAL_SIGNUP")
    base = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    base.update(
        DJANGO_SETTINGS_MODULE="challenge_platform.settings.local", DATA_DIR=str(tmp_path), **env
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=base, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_embedded_default_writes_mail_to_files_and_keeps_sign_up_on(tmp_path):
    found = probe(tmp_path)
    assert found["backend"] == "django.core.mail.backends.filebased.EmailBackend"
    assert found["file_path"] == str(tmp_path.resolve() / "mail")
    assert str(tmp_path.resolve() / "mail") in found["destination"]
    assert found["signup"] is True and found["signup_domains"] == []
    assert found["oidc"] is False and found["apps"] == []
    assert found["form_action"] == ["'self'"]


def test_smtp_oidc_and_domains_from_the_environment(tmp_path):
    found = probe(
        tmp_path,
        EMAIL_HOST="mail.example.org",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="1",
        LOCAL_SIGNUP_ENABLED="0",
        SIGNUP_ALLOWED_EMAIL_DOMAINS=" Example.org, corp.example.org ",
        OIDC_ISSUER_URL="https://login.example.org/realms/corp",
        OIDC_CLIENT_ID="challenge",
        OIDC_CLIENT_SECRET="not-in-the-repo",
        OIDC_ALLOWED_EMAIL_DOMAINS="example.org",
        OIDC_BUTTON_LABEL="Sign in with Corp SSO",
    )
    assert found["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert found["destination"] == "SMTP mail.example.org:587 with TLS"
    assert found["signup"] is False
    assert found["signup_domains"] == ["example.org", "corp.example.org"]
    assert found["oidc"] is True and found["oidc_domains"] == ["example.org"]
    [app] = found["apps"]
    assert app["name"] == "Sign in with Corp SSO" and app["client_id"] == "challenge"
    assert app["settings"]["server_url"] == "https://login.example.org/realms/corp"
    assert found["form_action"] == ["'self'", "https://login.example.org"]
    switched_off = probe(
        tmp_path,
        OIDC_ISSUER_URL="https://login.example.org/realms/corp",
        OIDC_CLIENT_ID="challenge",
        OIDC_ENABLED="0",
    )
    assert switched_off["oidc"] is False and switched_off["apps"] == []
