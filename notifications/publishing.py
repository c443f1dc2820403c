"""Publishing notification tasks by name after commit, and absolute links for mails."""

from __future__ import annotations

from django.conf import settings

from jobs import lifecycle


def site_url(*, path: str = "") -> str:
    base = (getattr(settings, "SITE_URL", "") or "http://127.0.0.1:8000").rstrip("/")
    return base + path


def publish(*, task_name: str, countdown: float | None = None, **kwargs: object) -> None:
    """Publish a notifications task by name once the transaction commits (services never
    import task modules; ``jobs.lifecycle`` routes it to its queue). A broker error is
    logged, never raised: a job whose message was lost is sent again (:mod:`jobs.republish`)."""
    lifecycle.publish_after_commit(task_name=task_name, countdown=countdown, **kwargs)
