"""Test settings: local defaults, fast hashing, a throwaway DATA_DIR set by the test harness."""

from .base import env
from .local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A file database (not :memory:) so that Celery worker processes started by the tests
# see what the test wrote.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405

# Fault tests make scoring sleep after it claims a submission, so a worker can be killed while
# the submission is deterministically "scoring" (read by scoring.services).
SCORING_TEST_DELAY_SECONDS = float(env("SCORING_TEST_DELAY_SECONDS", "0"))
