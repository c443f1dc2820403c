"""Secrets come from the environment: nothing that looks like a key or password is committed.

Scans every file git tracks or would add (not ignored ones such as ``var/`` or ``.venv/``).
The allowed exceptions are named, each with its reason.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PATTERNS = {
    "a hard-coded secret or password": re.compile(
        r"""(?ix)\b[\w.]*(secret|password|passwd|pwd|api_?key|access_?key|private_?key|token)
        [\w.]*['"]?\s*[:=]\s*[rbf]?['"](?![$<{])([^'"\s]{6,})['"]"""
    ),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "credentials in a URL": re.compile(
        r"\b[a-z][a-z0-9+]*://([^/\s:@'\"]+):([^@\s/'\"]+)@([^/\s:'\"]+)"
    ),
    "a GitHub or Slack token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[\w-]{10,})"),
}

# path (or prefix) -> why its matches are fine.
ALLOWED_FILES = {
    "tests/": "throwaway credentials of test users and test servers",
    "challenge_platform/settings/local.py": "the clearly-marked local-only development key",
    "challenges/management/commands/ensure_accounts.py": (
        "the documented demo accounts of the local embedded default (README)"
    ),
    "README.md": "the documented demo accounts and placeholder examples",
    "docs/": "placeholder examples",
}
# Matched text that is a placeholder or a loopback-only test database, anywhere.
ALLOWED_VALUES = (
    "user:pw@host",  # README's example URL
    "challenge:challenge@127.0.0.1",  # the CI's local PostgreSQL on loopback (.ci/run)
    "testing",  # moto's documented fake AWS credentials
    'auth_token": "api-token"',  # the API index: the token endpoint's URL name, not a token
)


def candidate_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (REPO / name).is_file()]


def findings() -> list[str]:
    found = []
    for name in candidate_files():
        if name.startswith(tuple(ALLOWED_FILES)) or name.endswith(".lock"):
            continue
        path = REPO / name
        data = path.read_bytes()
        if b"\0" in data[:4096] or len(data) > 2_000_000:
            continue  # binary or data
        text = data.decode("utf-8", errors="replace")
        for what, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                hit = match.group(0)
                if any(allowed in hit for allowed in ALLOWED_VALUES):
                    continue
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {what}: {hit[:80]}")
    return found


def test_no_secret_is_committed():
    assert len(candidate_files()) > 100
    problems = findings()
    assert not problems, "\n".join(problems)


def test_the_scanner_finds_what_it_looks_for(tmp_path, monkeypatch):
    """The patterns are not vacuous."""
    samples = {
        'SECRET_KEY = "k9$2jd8sk2l1mx0q"': "a hard-coded secret or password",
        "AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMIK7MDENGbPxRfiCY": None,  # unquoted YAML is not
        'aws_secret_access_key="wJalrXUtnFEMI/K7MDENG"': "a hard-coded secret or password",
        "id = AKIAIOSFODNN7EXAMPLE": "an AWS access key id",
        "-----BEGIN RSA PRIVATE KEY-----": "a private key",
        "postgres://app:s3cr3t@db.internal:5432/x": "credentials in a URL",
        "redis://:hunter22@cache:6379/0": None,  # no user part: caught by the next sample
        'REDIS_PASSWORD = "hunter22"': "a hard-coded secret or password",
    }
    for sample, expected in samples.items():
        matched = [what for what, pattern in PATTERNS.items() if pattern.search(sample)]
        assert matched == ([expected] if expected else []), (sample, matched)


def test_production_settings_take_every_secret_from_the_environment():
    text = (REPO / "challenge_platform/settings/production.py").read_text()
    assert re.search(r'SECRET_KEY = env\("SECRET_KEY"\)', text)
    base = (REPO / "challenge_platform/settings/base.py").read_text()
    assert 'SECRET_KEY = env("SECRET_KEY")' in base  # no fallback outside local settings
    compose = (REPO / "docker/compose.yaml").read_text()
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert f"${{{name}:?" in compose, f"compose must require {name} from the environment"
