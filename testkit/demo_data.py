"""The demo's data in the tests and the benches: where its downloaded sources are kept, its
task bundles as built, and the files an import leaves under the data folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Demo sources downloaded once (the py-entitymatching sdist) are kept between test runs here.
DEMO_CACHE = Path(os.environ.get("DEMO_CACHE_DIR", str(Path(settings.BASE_DIR) / "var" / "cache")))


def stored_files() -> set[Path]:
    """Every file under media, private and staging (the places an import writes to)."""
    roots = [
        Path(settings.MEDIA_ROOT),
        Path(settings.PRIVATE_ROOT),
        Path(settings.DATA_DIR) / "staging",
    ]
    return {p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()}


def data_dir_files() -> set[Path]:
    """Every file under DATA_DIR but the test database, its journals and caches."""
    root = Path(settings.DATA_DIR)
    return {
        p
        for p in root.rglob("*")
        if p.is_file() and ".sqlite3" not in p.name and "cache" not in p.relative_to(root).parts
    }


@dataclass(frozen=True)
class DemoBundle:
    slug: str
    track_slug: str
    path: Path | None
    unavailable: str = ""


def demo_slugs() -> list[str]:
    from datasets.demo import DEMO_TASKS

    return [demo.slug for demo in DEMO_TASKS]
