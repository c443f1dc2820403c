"""Reading the environment: the helpers every settings module reads its variables with, and
the folders under ``DATA_DIR`` (docs/operators/configure.md lists every variable)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_list(name: str) -> list[str]:
    """A comma-separated variable as a list of lower-case, stripped values."""
    return [v.strip().lower() for v in (env(name, "") or "").split(",") if v.strip()]


DATA_DIR = Path(env("DATA_DIR", str(BASE_DIR / "var"))).resolve()
MEDIA_ROOT = DATA_DIR / "media"
PRIVATE_ROOT = DATA_DIR / "private"
STATIC_ROOT = DATA_DIR / "static"
