"""Test settings: local defaults, fast hashing, a throwaway DATA_DIR set by the test harness."""

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
