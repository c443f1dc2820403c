"""The layers of the import-linter ``layers`` contract, and the shape of a task's name: what
the architecture tests read (tests/platform_tests/test_architecture.py, test_wiring.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

# A Celery task's name: ``<package>.tasks.<function>``.
TASK_NAME = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*\.tasks\.[a-z_][a-z0-9_]*")


def layer_order(pyproject: Path) -> list[str]:
    """The apps of the ``layers`` contract, top first (optional ``(app)`` marks removed)."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c.get("type") == "layers"]
    return [layer.strip("()") for layer in layers]
