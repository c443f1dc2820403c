"""The bundle core stays free of Django, so ingestion logic is testable without a database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_datasets_core_imports_no_django() -> None:
    code = (
        "import sys, datasets.core;"
        "loaded = [m for m in sys.modules if m == 'django' or m.startswith('django.')];"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
