"""Platform-level Celery tasks."""

from __future__ import annotations

import socket

from django.utils import timezone

from challenges import task_names
from jobs.celery import platform_task

from .models import WorkerHeartbeat
from .phases import phase_transitions_announce


@platform_task(
    name=task_names.HEARTBEAT,
    soft_time_limit=20,
    time_limit=30,
    every=30.0,
    beat="worker-heartbeat",
)
def heartbeat() -> None:
    """Record that a worker is alive (shown on the organizer's health panel)."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname(), defaults={"seen_at": timezone.now()}
    )


@platform_task(name=task_names.PING, soft_time_limit=5, time_limit=10)
def ping(*, value: str) -> str:
    """Round trip used by the tests and the health check: proves a worker consumes the queue."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=f"ping:{value}", defaults={"seen_at": timezone.now()}
    )
    return value


@platform_task(
    name=task_names.PHASE_TICK,
    soft_time_limit=50,
    time_limit=60,
    every=60.0,
    beat="phase-tick",
)
def phase_tick() -> None:
    """Announce the phases that started or ended (``challenges.phases``)."""
    phase_transitions_announce()
