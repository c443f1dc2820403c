"""Test settings: local defaults, fast hashing, a throwaway DATA_DIR set by the test harness."""

import os
from pathlib import Path

# Under pytest-xdist (scripts/test.sh) each test process gets a data folder of its own
# (media, staging, run folders, the SQLite file, Redis data), set before the settings read
# it, so child processes (Celery workers, manage.py) inherit the same one. The database
# names are made apart by pytest-django.
if (_worker := os.environ.get("PYTEST_XDIST_WORKER")) and os.environ.get("DATA_DIR"):
    _folder = Path(os.environ["DATA_DIR"])
    if _folder.name != _worker:
        os.environ["DATA_DIR"] = str(_folder / _worker)
    Path(os.environ["DATA_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)

from .local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "board_rows": BOARD_ROWS_CACHE,  # noqa: F405
}

# A file database (not :memory:) so that Celery worker processes started by the tests
# see what the test wrote.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405


# Intervals follow every refresh at once, so a test sees them without waiting out a spacing
# (tests of the spacing set it themselves).
BOARD_INTERVALS_SPACING_SECONDS = 0
# ... and do not wait for the queued submissions a test leaves (tests of the deferral set it).
BOARD_INTERVALS_DEFER_SECONDS = 0

# A queued job with no message on the broker is published again after 2 s (a look every 2 s),
# not after a minute: the tests that lose messages on purpose see it done in seconds.
JOB_REPUBLISH_SECONDS = float(os.environ.get("JOB_REPUBLISH_SECONDS", "4"))

# A task imported by a test queues no AutoGluon baseline nor trivial baseline build (a worker
# of the test would otherwise fit AutoGluon for every task a test imports); the tests of that
# behaviour turn it on (tests/baselines_tests/test_arrival.py; a manage.py child through the
# environment variable).
BENCHMARK_ON_ARRIVAL = os.environ.get("BENCHMARK_ON_ARRIVAL", "0") == "1"

# A task a test creates shows exact public scores, as the tests of every other feature read
# them; the ladder's tests (tests/leaderboard_tests/test_ladder_*.py) set their tasks' mode,
# and check that the production default (settings.base) is "ladder-step".
PUBLIC_BOARD_DEFAULT = os.environ.get("PUBLIC_BOARD_DEFAULT", "plain")
