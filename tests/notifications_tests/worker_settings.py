"""Settings of the notifications tests' worker: the test settings with SMTP to the test's
server (EMAIL_HOST/EMAIL_PORT from the environment the test gives the worker)."""

from challenge_platform.settings.test import *  # noqa: F403
from challenge_platform.settings.test import env

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
SITE_URL = "http://testserver"
