"""Fixtures shared by this folder's test modules."""

from __future__ import annotations

from .writeups_helpers import w  # noqa: F401 - a fixture of several modules
