"""WSGI entry point for gunicorn (the embedded default and production alike)."""

import os

from django.core.wsgi import get_wsgi_application

from challenge_platform.wsgi_body import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")
application = ChunkedBodyMiddleware(get_wsgi_application())
