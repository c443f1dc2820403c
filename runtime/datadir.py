"""The embedded default's data folder (``DATA_DIR``, ``./var``) is private to the account
that runs the platform, and holds the secrets that install made for itself.

- :func:`private_dir` creates a folder ``0700`` (and takes the group and other bits off one
  an older install left open); everything the platform writes below it is out of reach of
  the machine's other users whatever its own mode.
- :func:`install_secret` reads a random secret kept in a ``0600`` file, creating it once:
  the install's ``SECRET_KEY`` (``settings.local``) and its Redis password
  (``runplatform``). Creation is atomic (the file appears complete, through a hard link
  that fails if another process was first), so processes starting together agree on one
  value, and a restart reuses it.

No Django here: settings import it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# Every file and folder the embedded default's processes create: owner only.
PRIVATE_UMASK = 0o077


class SecretFileError(RuntimeError):
    """A secret file that exists but cannot be used (unreadable, empty, too short)."""


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (created ``0700``, with any missing
    parent, and tightened if it is ours)."""
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(info.st_mode) & ~0o077)
    return path


def _read_secret(path: Path, min_length: int) -> str:
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(FILE_MODE)  # an older or hand-made file: take the others' bits off
    try:
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretFileError(f"cannot read the secret in {path}: {exc}") from exc
    if len(value) < min_length:
        raise SecretFileError(
            f"{path} holds no usable secret (fewer than {min_length} characters); remove it "
            "to have a new one made (signed links and sessions made with the old one stop "
            "working)"
        )
    return value


def install_secret(path: Path, *, nbytes: int = 50, min_length: int = 50) -> str:
    """The secret kept in ``path``; made once (``secrets.token_urlsafe(nbytes)``, mode
    ``0600``) when there is none. Its folder is made private first."""
    private_dir(path.parent)
    try:
        return _read_secret(path, min_length)
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(nbytes)
    staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(staging, path)  # atomic, and never replaces a secret another made
        except FileExistsError:
            return _read_secret(path, min_length)
        return value
    finally:
        staging.unlink(missing_ok=True)
