"""The site's icon: linked on every page, ``/favicon.ico`` never a 404, and the committed
files are what ``scripts/make_favicon.py`` draws (one drawing, two formats)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "challenges" / "static" / "challenge_platform"


def _static_file(url: str) -> Path:
    """The file a ``/static/...`` address serves (the staticfiles finders, as collectstatic)."""
    assert url.startswith("/static/"), url
    found = finders.find(url.removeprefix("/static/"))
    assert found, f"no static file behind {url}"
    return Path(found)


@pytest.mark.django_db
def test_every_page_links_the_icon_and_the_links_reach_files() -> None:
    html = Client().get("/").content.decode()
    links = dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r'<link rel="icon" href="([^"]+)"[^>]*?(?:type="([^"]+)")?>', html)
    )
    assert set(links) == {None, "image/svg+xml"}, links
    assert _static_file(links["image/svg+xml"]).read_text().startswith("<svg ")
    with Image.open(_static_file(links[None])) as ico:
        assert ico.format == "ICO"


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_static_icon() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert "max-age=86400" in response["Cache-Control"]
    with Image.open(_static_file(response["Location"])) as ico:
        assert ico.format == "ICO"
        assert ico.ico.sizes() == {(16, 16), (32, 32), (48, 48)}


def _pixels(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as ico:
        ico.size = (size, size)
        ico.load()
        return np.asarray(ico.convert("RGBA"), dtype=np.int16)


def test_the_committed_icons_are_what_the_script_draws(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_favicon.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "favicon.svg").read_text() == (STATIC / "favicon.svg").read_text()
    for size in (16, 32, 48):
        drawn, committed = (
            _pixels(tmp_path / "favicon.ico", size),
            _pixels(STATIC / "favicon.ico", size),
        )
        # Exact with the locked Pillow; a little slack for another version's resampling.
        assert np.abs(drawn - committed).max() <= 8, size
