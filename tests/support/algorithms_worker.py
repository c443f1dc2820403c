"""What the algorithm tests give the web process and their workers: small sandbox limits and
the workers' own secret key (tests/algorithms_tests/conftest.py's fixtures set them; the
tests that start a worker themselves read them here)."""

from __future__ import annotations

import uuid

# Small limits, so hostile algorithms hit them within seconds (the web process stores
# them on each run; the worker process enforces what the run row says).
LIMITS = {
    "ALGORITHM_WALL_SECONDS": 60,
    "ALGORITHM_CPU_SECONDS": 20,
    "ALGORITHM_MEMORY_MB": 1024,
    "ALGORITHM_PROCESSES": 64,
    "ALGORITHM_OUTPUT_MB": 40,
    "ALGORITHM_TMP_MB": 40,
    "ALGORITHM_LOG_MB": 5,
}
WORKER_SECRET = f"worker-secret-{uuid.uuid4().hex}"
