"""Reads of the operations layer: the organizers' health panel."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from challenge_platform.models import WorkerHeartbeat
from scoring.models import Submission
from scoring.services import PENDING


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
    }
