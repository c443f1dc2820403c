"""Every app of the product is in the installed distribution (pyproject's package list):
a process started outside the checkout's folder (a bench's site, the image) imports the
apps through the install, so one left out of the list is importable only from the folder."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from tests.support.layers import layer_order

REPO = Path(__file__).resolve().parents[2]


def test_every_app_is_in_the_installed_packages() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    included = config["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = [
        app
        for app in layer_order(REPO / "pyproject.toml")
        if not any(fnmatch(app, pattern) for pattern in included)
    ]
    assert not missing, f"apps not in [tool.setuptools.packages.find] include: {missing}"
