"""Publishing notification tasks by name after commit, and absolute links for mails."""

from __future__ import annotations

from django.conf import settings

from challenge_platform import jobs


def site_url(path: str = "") -> str:
    base = (getattr(settings, "SITE_URL", "") or "http://127.0.0.1:8000").rstrip("/")
    return base + path


def publish(task_name: str, *, countdown: float | None = None, **kwargs: object) -> None:
    """Publish a notifications task by name once the transaction commits (services never
    import task modules; ``challenge_platform.jobs`` routes it to its queue). A broker error
    is logged, never raised: the beat tick re-sends webhook deliveries whose message was lost."""
    jobs.publish_after_commit(task_name, countdown=countdown, **kwargs)
