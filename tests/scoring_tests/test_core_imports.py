"""The scoring core stays importable and usable without Django (docs/architecture.md
§2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_core_loads_no_django_celery_or_sklearn():
    code = (
        "import sys, kinds, scoring.core, scoring.core.metrics; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'django', 'rest_framework', 'celery', 'sklearn'}); "
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == ""
