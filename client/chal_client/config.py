"""Where ``chal`` keeps the server and the API token between runs.

The file is JSON, ``{"server": ..., "token": ...}``, at ``$CHAL_CONFIG`` or
``~/.config/chal/config.json`` (``$XDG_CONFIG_HOME`` is honoured), readable only by its
owner (0600). ``CHAL_SERVER`` and ``CHAL_TOKEN`` override what the file says.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from .client import CliError, UsageError

DEFAULT_SERVER = "http://127.0.0.1:8000"


class ConfigError(CliError):
    """The configuration file exists but cannot be read or written."""


def config_path() -> Path:
    """The configuration file's path (it may not exist yet)."""
    explicit = os.environ.get("CHAL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "chal" / "config.json"


def normalize_server(url: str) -> str:
    """``localhost:8000`` -> ``http://localhost:8000``; drops a trailing ``/`` or ``/api/v1``."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    url = url.rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"not a server URL: {url!r} (expected http://host:port)")
    return url


class Settings(NamedTuple):
    """The server to talk to and the token to send it (None: anonymous)."""

    server: str
    token: str | None


def load_file() -> dict[str, str]:
    """What the configuration file holds ({} when there is none)."""
    path = config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"cannot read {path}: not a JSON object")
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def resolve(server: str | None = None) -> Settings:
    """The effective settings: ``server`` (a command-line option), else the environment,
    else the file, else the default.

    The saved token is only sent to the server it was saved for, so ``--server`` pointing
    elsewhere never leaks it; ``CHAL_TOKEN`` is sent wherever the user points it.
    """
    saved = load_file()
    chosen = server or os.environ.get("CHAL_SERVER") or saved.get("server") or DEFAULT_SERVER
    chosen = normalize_server(chosen)
    token = os.environ.get("CHAL_TOKEN") or None
    saved_for = normalize_server(saved["server"]) if saved.get("server") else None
    if token is None and saved.get("token") and saved_for == chosen:
        token = saved["token"]
    return Settings(server=chosen, token=token)


def save(*, server: str, token: str | None) -> Path:
    """Write ``{server, token}`` atomically with mode 0600; returns the file's path."""
    path = config_path()
    data: dict[str, str] = {"server": server}
    if token:
        data["token"] = token
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from exc
    return path
