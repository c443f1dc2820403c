"""Reads of the operations layer: the organizers' health panel."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from challenges.models import WorkerHeartbeat
from jobs.broker import priority_steps, queue_depths
from jobs.liveness import broker_redis, live_entries, node_of
from runtime.procfile import queue_processes
from scoring.models import Submission
from scoring.services.lifecycle import PENDING

logger = logging.getLogger(__name__)


def health_status() -> dict[str, Any]:
    """Queue health for the organizer's panel: waiting work and the last worker heartbeat."""
    waiting = Submission.objects.filter(status__in=PENDING)
    counts = dict(
        waiting.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    oldest = waiting.aggregate(at=Min("created_at"))["at"]
    beat = (
        WorkerHeartbeat.objects.exclude(hostname__startswith="ping:").order_by("-seen_at").first()
    )
    now = timezone.now()
    return {
        "queued": counts.get("queued", 0),
        "scoring": counts.get("scoring", 0),
        "oldest_waiting_at": oldest,
        "oldest_waiting_seconds": (now - oldest).total_seconds() if oldest else None,
        "last_heartbeat_at": beat.seen_at if beat else None,
        "last_heartbeat_host": beat.hostname if beat else None,
        "heartbeat_age_seconds": (now - beat.seen_at).total_seconds() if beat else None,
        "workers_ok": bool(beat and (now - beat.seen_at).total_seconds() < 120),
        "broker": queue_health(),
    }


def queue_health() -> dict[str, Any]:
    """Each of the platform's queues on the broker: the messages waiting in it and the live
    workers consuming it (their liveness entries: beating now, with their ``-Q``). A queue
    whose messages no worker consumes gets a warning naming the Procfile process to start:
    its messages only pile up (a deployment without the ``renders`` process, say, whose
    ``board_renders`` messages a score publishes). ``error`` says why there is nothing when
    the broker did not answer (three round trips, each bounded by ``REDIS_SOCKET_TIMEOUT``)."""
    import redis

    names = settings.TASK_QUEUE_NAMES
    steps = priority_steps(transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    try:
        client = broker_redis()
        waiting = queue_depths(client=client, queues=names, steps=steps)
        live = live_entries(client=client)
    except redis.RedisError as exc:
        logger.warning("the health panel could not read the broker: %s", exc)
        return {"queues": [], "warnings": [], "error": f"the broker did not answer ({exc})"}
    started_by = queue_processes()
    queues = []
    for name in names:
        consumers = sorted(
            {
                node_of(holder=holder)
                for holder, entry in live.items()
                if name in entry.get("queues", [])
            }
        )
        process = started_by.get(name, "")
        warning = ""
        if waiting[name] and not consumers:
            start = (
                f": start the Procfile's {process} process (docker/entrypoint.sh {process})"
                if process
                else ""
            )
            warning = f"{waiting[name]} message(s) wait on {name} and no worker consumes it{start}"
        queues.append(
            {
                "name": name,
                "waiting": waiting[name],
                "consumers": consumers,
                "process": process,
                "warning": warning,
            }
        )
    return {
        "queues": queues,
        "warnings": [q["warning"] for q in queues if q["warning"]],
        "error": "",
    }
