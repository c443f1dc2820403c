"""WSGI entry point for gunicorn (the embedded default and production alike)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.utils.module_loading import import_string

from challenge_platform.wsgi_body import ChunkedBodyMiddleware
from runtime.wsgi_retry import DatabaseRetryMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")
# A request that lost the database before it committed anything runs again once it is back
# (runtime/wsgi_retry.py); outside the chunked body's spooling, whose work it keeps.
application = DatabaseRetryMiddleware(ChunkedBodyMiddleware(get_wsgi_application()))
# settings.WSGI_MIDDLEWARE, outermost first (the boards' fast path, leaderboard/cache/fastpath.py).
for _path in reversed(settings.WSGI_MIDDLEWARE):
    application = import_string(_path)(application)
