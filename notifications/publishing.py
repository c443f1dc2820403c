"""Publishing notification tasks by name after commit, and absolute links for mails."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from challenge_platform.celery import app as celery_app

logger = logging.getLogger(__name__)

QUEUE = "notifications"


def site_url(path: str = "") -> str:
    base = (getattr(settings, "SITE_URL", "") or "http://127.0.0.1:8000").rstrip("/")
    return base + path


def publish(task_name: str, *, countdown: float | None = None, **kwargs: object) -> None:
    """Publish a notifications task by name once the transaction commits (services never
    import task modules); a broker error is logged, never raised: the beat tick re-sends
    webhook deliveries whose message was lost."""

    def send() -> None:
        try:
            celery_app.send_task(task_name, kwargs=kwargs, queue=QUEUE, countdown=countdown)
        except Exception:
            logger.exception("could not queue %s %s", task_name, kwargs)

    transaction.on_commit(send)
