"""A secret per install (issue 25): the embedded default signs with a random key it made once
under DATA_DIR (0600), never the fixed key the repository used to carry, so a confirmation
link forged with that old key is refused; DATA_DIR itself is private to its owner."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from allauth.account import app_settings as account_settings
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing

from runtime.datadir import SecretFileError, install_secret, private_dir
from tests.challenges_tests.factories import UserFactory

REPO = Path(__file__).resolve().parents[2]
OLD_REPOSITORY_KEY = "local-development-only-not-a-secret"  # what settings.local used to use


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _secret_in(path: str) -> str:
    return install_secret(Path(path))


def test_the_secret_is_made_once_private_and_reused(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    path = folder / "secret_key"
    first = install_secret(path)
    assert len(first) >= 50 and first != OLD_REPOSITORY_KEY
    assert mode(path) == 0o600 and mode(folder) == 0o700
    assert install_secret(path) == first
    assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no staging file left


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    with ProcessPoolExecutor(max_workers=6) as pool:
        values = set(pool.map(_secret_in, [str(path)] * 24))
    assert values == {path.read_text().strip()}


def test_an_open_folder_or_file_is_tightened_and_a_bad_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "old-var"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    secret = folder / "secret_key"
    secret.write_text("x" * 60 + "\n")
    secret.chmod(0o644)
    assert install_secret(secret) == "x" * 60
    assert mode(secret) == 0o600 and mode(folder) == 0o700
    secret.write_text("short\n")
    with pytest.raises(SecretFileError, match="no usable secret"):
        install_secret(secret)
    private_dir(folder / "a" / "b")
    assert mode(folder / "a") == mode(folder / "a" / "b") == 0o700


def test_local_settings_sign_with_the_installs_own_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.update(DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="challenge_platform.settings.local")
    code = "from django.conf import settings as s; print(s.SECRET_KEY)"
    read = [sys.executable, "manage.py", "shell", "-c", code]

    def key() -> str:
        done = subprocess.run(read, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]  # after "N objects imported..."

    first, second = key(), key()
    assert first == second == (data_dir / "secret_key").read_text().strip()
    assert first != OLD_REPOSITORY_KEY and len(first) >= 50
    assert mode(data_dir) == 0o700 and mode(data_dir / "secret_key") == 0o600
    assert mode(data_dir / "mail") == 0o700
    # SECRET_KEY in the environment still wins (and no file decides for it).
    env["SECRET_KEY"] = "k" * 60
    assert key() == "k" * 60


@pytest.mark.django_db
def test_a_confirmation_forged_with_the_old_repository_key_is_refused(client) -> None:
    assert settings.SECRET_KEY != OLD_REPOSITORY_KEY
    user = UserFactory(username="mallory", email="m@elsewhere.example")
    address = EmailAddress.objects.create(user=user, email=user.email, verified=False)

    forged = signing.dumps(obj=address.pk, salt=account_settings.SALT, key=OLD_REPOSITORY_KEY)
    client.post(f"/accounts/confirm-email/{forged}/")
    address.refresh_from_db()
    assert not address.verified

    # The same link signed with this install's key works: the check above can fail.
    genuine = signing.dumps(obj=address.pk, salt=account_settings.SALT)
    client.post(f"/accounts/confirm-email/{genuine}/")
    address.refresh_from_db()
    assert address.verified
