"""Settings of the tests' web server (``tests.support.web_server``): the test settings, with
the cache in the session's Redis (a database of its own) as production has it, so that every
gunicorn process shares the counters."""

import os

from challenge_platform.settings.test import *  # noqa: F403

CACHES = {
    **CACHES,  # noqa: F405
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["WEB_TEST_CACHE_URL"],
        "KEY_PREFIX": "challenge",
    },
}
