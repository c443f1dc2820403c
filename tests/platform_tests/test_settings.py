"""Production settings refuse to start without secrets and pass check --deploy with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_manage(
    *args: str, env_extra: dict[str, str], drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is test-harness state, not deployment.
    drop = (*drop, "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PROD = {
    "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.production",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-0123456789",
    "ALLOWED_HOSTS": "challenge.example.com",
    "DATABASE_URL": "sqlite:////tmp/never-opened.sqlite3",
}


def test_production_refuses_to_start_without_secret_hosts_and_database():
    result = run_manage(
        "check",
        env_extra={"DJANGO_SETTINGS_MODULE": PROD["DJANGO_SETTINGS_MODULE"]},
        drop=("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"),
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "ALLOWED_HOSTS" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_production_check_deploy_is_clean():
    # The browser fixtures allow async-unsafe calls in this process; a deployment never does.
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_extra=PROD,
                        drop=("DJANGO_ALLOW_ASYNC_UNSAFE",))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
