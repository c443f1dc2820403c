"""The chaos run's facts, read on a host of the deployment (bench/chaos.py runs it with the
hosts' settings): the database's rows for what the load did, a fresh re-score of every
stored file, every board recomputed from the stored scores, the jobs not final, the mails
and webhook deliveries, the audit events. It prints one JSON object; the verdicts are
bench/chaos_invariants.py's (no Django there).

``--plant`` proves the checker can fail: inside a transaction that is rolled back at the
end, it first deletes one scored submission of an accepted upload (``delete-scored``), or
marks a team's run succeeded without its submission (``done-without-result``), then reads
the facts as usual. Nothing planted is ever committed.

    python -m bench.chaos_verify LEDGER.json [--plant KIND] [--no-rescore]
    python -m bench.chaos_verify --job-types
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PLANTS = ("delete-scored", "done-without-result")
CHALLENGE = "chaos"
SCORE_TOLERANCE = 1e-12


class Rollback(Exception):
    """Leaves the planted transaction (nothing of it is committed)."""


def job_types() -> dict[str, dict]:
    """Each registered job type's table, statuses, pk keyword, queue and the SQL of its
    queued rows (for the driver's own reads of the database)."""
    from jobs.celery import TASK_QUEUES
    from jobs.registry import registered

    found = {}
    for jt in registered():
        sql, params = jt.filter(status=jt.queued).values("pk").query.sql_with_params()
        pending = jt.filter(status__in=[jt.queued, jt.running]).values("pk")
        pending_sql, pending_params = pending.query.sql_with_params()
        found[jt.task_name] = {
            "table": jt.model._meta.db_table,
            "queued": jt.queued,
            "running": jt.running,
            "final": list(jt.final),
            "pk_kwarg": jt.pk_kwarg,
            "doorbell": jt.doorbell,
            "queue": TASK_QUEUES.get(jt.task_name, ""),
            "queued_sql": [sql, list(params)],
            "pending_sql": [pending_sql, list(pending_params)],
        }
    return found


def uploads(ledger: dict) -> dict[str, Any]:
    """Every row each upload of the load made (found by its note, which is its key)."""
    from scoring.models import Submission

    keys = [u["key"] for u in ledger["uploads"]]
    rows: dict[str, list[dict]] = {k: [] for k in keys}
    fields = (
        "id",
        "note",
        "status",
        "error",
        "task__slug",
        "team__name",
        "created_at",
        "finished_at",
        "attempts",
        "idempotency_key",
    )
    for row in Submission.objects.filter(note__in=keys).values(*fields):
        rows[row["note"]].append(
            {
                "id": row["id"],
                "status": row["status"],
                "error": row["error"],
                "task": row["task__slug"],
                "team": row["team__name"],
                "created": row["created_at"].timestamp(),
                "finished": row["finished_at"].timestamp() if row["finished_at"] else None,
                "attempts": row["attempts"],
            }
        )
    accepted = [u["submission"] for u in ledger["uploads"] if u["submission"]]
    found = set(Submission.objects.filter(pk__in=accepted).values_list("pk", flat=True))
    return {"rows": rows, "missing_ids": sorted(set(accepted) - found)}


def pending_jobs() -> list[dict]:
    """Every job of every registered type that is not final (queued or running)."""
    from jobs.registry import registered

    left = []
    for jt in registered():
        for pk, status in jt.filter(status__in=[jt.queued, jt.running]).values_list("pk", "status"):
            left.append({"type": jt.task_name, "id": pk, "status": status})
    return left


def rescores() -> dict[str, Any]:
    """Every scored submission of the challenge scored again from its stored file, against
    what is stored."""
    from scoring.core import SubmissionInvalid, score_file
    from scoring.models import Submission
    from scoring.solutions import solution_for_task

    checked, differ = 0, []
    scored = Submission.objects.filter(
        task__track__challenge__slug=CHALLENGE, status="scored"
    ).select_related("task")
    for sub in scored.iterator(chunk_size=200):
        with sub.file.storage.open(sub.file.name, "rb") as handle:
            data = io.BytesIO(handle.read())
        try:
            fresh = score_file(data, solution_for_task(task=sub.task)).scores()
        except SubmissionInvalid as exc:
            differ.append({"id": sub.pk, "why": f"its file no longer scores: {exc.message}"})
            continue
        checked += 1
        why = scores_differ(sub.scores, json.loads(json.dumps(fresh)))
        if why:
            differ.append({"id": sub.pk, "why": why})
    return {"checked": checked, "differ": differ}


def scores_differ(stored: dict, fresh: dict) -> str:
    """ "" when ``stored`` equals ``fresh`` (every split and metric), else what differs."""
    if set(stored) != set(fresh):
        return f"splits stored {sorted(stored)}, re-scored {sorted(fresh)}"
    for split, metrics in fresh.items():
        if set(metrics) != set(stored[split]):
            return f"{split}: metrics stored {sorted(stored[split])}, re-scored {sorted(metrics)}"
        for name, value in metrics.items():
            old = stored[split][name]
            if (old is None) != (value is None) or (
                value is not None and abs(float(old) - float(value)) > SCORE_TOLERANCE
            ):
                return f"{split} {name}: stored {old}, re-scored {value}"
    return ""


def boards() -> list[dict]:
    """Each task board (public and private) against its recomputation from the stored
    scores with the ranking core: the private split from each team's final selection, the
    public one under the task's board mode (a ladder's leaders and shown scores replayed
    from the stored predictions, in a transaction rolled back: the check writes nothing)."""
    from django.db import transaction

    from datasets.models import Task
    from leaderboard.boards.ladder import public_board_entries
    from leaderboard.core.ranking import private_entries, rank_entries
    from leaderboard.selectors import leaderboard_for_task
    from leaderboard.stored_board import submission_inputs
    from scoring.models import Submission

    found = []
    for task in Task.objects.filter(track__challenge__slug=CHALLENGE).order_by("slug"):
        inputs, by_id = submission_inputs(task=task)
        files = dict(Submission.objects.filter(pk__in=list(by_id)).values_list("pk", "predictions"))
        with transaction.atomic():
            public = public_board_entries(task=task, inputs=inputs, files=files)
            transaction.set_rollback(True)
        max_final = task.track.challenge.max_final_selections
        entries = {"public": public, "private": private_entries(inputs, max_final=max_final)}
        for split in ("public", "private"):
            recomputed = [
                [r.rank, by_id[r.entry.payload.id].team.name, r.entry.score]
                for r in rank_entries(entries[split])
            ]
            stored = [
                [e.rank, e.team.name, e.score] for e in leaderboard_for_task(task=task, split=split)
            ]
            found.append(
                {"task": task.slug, "split": split, "recomputed": recomputed, "stored": stored}
            )
    return found


def runs(ledger: dict) -> dict[str, Any]:
    """Every run of the challenge: what it ended as and what it left."""
    from algorithms.models import AlgorithmRun

    rows = []
    for run in AlgorithmRun.objects.filter(task__track__challenge__slug=CHALLENGE).select_related(
        "version", "task", "submission"
    ):
        rows.append(
            {
                "id": run.pk,
                "profile": run.profile,
                "algorithm": run.version.algorithm_id,
                "version": run.version_id,
                "task": run.task.slug,
                "data_version": (run.manifest or {}).get("task_data_version"),
                "status": run.status,
                "error": run.error[:300],
                "submission": run.submission_id,
                "submission_status": run.submission.status if run.submission_id else None,
                "scores": bool(run.scores),
                "stress_of": run.stress_of_id,
                "reproduces": run.reproduces_id,
                "attempts": run.attempts,
            }
        )
    return {"rows": rows, "requested": ledger["runs"]}


def notifications() -> dict[str, Any]:
    from notifications.mail import mail_message_id
    from notifications.models import MailDelivery, WebhookDelivery

    mails = [
        {
            "id": m.pk,
            "status": m.status,
            "topic": m.topic,
            "message_id": mail_message_id(mail_pk=m.pk),
            "error": m.error,
        }
        for m in MailDelivery.objects.all()
    ]
    hooks = [
        {"id": d.pk, "status": d.status, "event": d.event, "error": d.last_error}
        for d in WebhookDelivery.objects.filter(webhook__challenge__slug=CHALLENGE)
    ]
    return {"mails": mails, "hooks": hooks}


def audit(ledger: dict) -> dict[str, Any]:
    """The audit events of what the load did that is audited: the task import, the
    organizer's runs, and every run whose profile writes a start event."""
    from algorithms.models import AlgorithmRun
    from challenges.models import AuditEvent
    from datasets.models import Task

    events = Counter(
        (e["action"], e["object_type"], e["object_id"])
        for e in AuditEvent.objects.values("action", "object_type", "object_id")
    )
    tasks = {t.slug: t.pk for t in Task.objects.filter(track__challenge__slug=CHALLENGE)}
    run_ids = set(AlgorithmRun.objects.values_list("pk", flat=True))
    return {
        "events": [[*key, n] for key, n in events.items()],
        "tasks": tasks,
        "runs": sorted(run_ids),
        "task_model": Task._meta.label,
        "run_model": AlgorithmRun._meta.label,
    }


def plant(kind: str, ledger: dict) -> str:
    """Inside the caller's transaction: make one fault the checker must find."""
    from algorithms.models import AlgorithmRun
    from scoring.models import Submission

    if kind == "delete-scored":
        accepted = [u["submission"] for u in ledger["uploads"] if u["submission"]]
        sub = Submission.objects.filter(pk__in=accepted, status="scored").order_by("pk").first()
        if sub is None:
            raise SystemExit("nothing to plant: no scored submission of an accepted upload")
        pk, note = sub.pk, sub.note
        sub.delete()
        return f"deleted scored submission {pk} (upload {note})"
    requested = [r["run"] for r in ledger["runs"] if r["profile"] == "team"]
    run = AlgorithmRun.objects.filter(pk__in=requested).order_by("pk").first()
    if run is None:
        raise SystemExit("nothing to plant: no team run")
    AlgorithmRun.objects.filter(pk=run.pk).update(status="succeeded", submission=None)
    return f"marked algorithm run {run.pk} succeeded without its submission"


def facts(ledger: dict, *, rescore: bool) -> dict[str, Any]:
    return {
        "uploads": uploads(ledger),
        "pending": pending_jobs(),
        "rescore": rescores() if rescore else None,
        "boards": boards(),
        "runs": runs(ledger),
        "notifications": notifications(),
        "audit": audit(ledger),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ledger", nargs="?", type=Path)
    parser.add_argument("--plant", choices=PLANTS)
    parser.add_argument("--no-rescore", action="store_true")
    parser.add_argument("--job-types", action="store_true")
    opts = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.production")
    import django

    django.setup()
    from django.db import transaction

    if opts.job_types:
        print(json.dumps(job_types()))
        return 0
    ledger = json.loads(opts.ledger.read_text(encoding="utf-8"))
    if opts.plant is None:
        print(json.dumps(facts(ledger, rescore=not opts.no_rescore)))
        return 0
    found: dict[str, Any] = {}
    try:
        with transaction.atomic():
            planted = plant(opts.plant, ledger)
            found = facts(ledger, rescore=False)
            found["planted"] = planted
            raise Rollback
    except Rollback:
        pass
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
