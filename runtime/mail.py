"""Where the platform's mail goes, in words (the run command prints it at start)."""

from __future__ import annotations

from django.conf import settings

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def mail_destination() -> str:
    """E.g. ``files in /srv/var/mail (one .log file per message)`` or ``SMTP mail:587``."""
    backend = settings.EMAIL_BACKEND
    if backend == FILE_BACKEND:
        return f"files in {settings.EMAIL_FILE_PATH} (one .log file per message; no SMTP)"
    if backend == SMTP_BACKEND:
        tls = " with TLS" if settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL else ""
        return f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}{tls}"
    return backend
