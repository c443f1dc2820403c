"""What happens on the platform, turned into mails and webhook events.

Other apps never import this module: ``NotificationsConfig.ready()`` registers these
functions on their hooks (a scored or failed submission, a refreshed board, a new champion,
a frozen standings snapshot, a new team member); the beat tick calls the time-driven ones
(reveal, deadline and write-up reminders).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from challenges.models import Challenge, Team, TeamMembership
from challenges.phases import BLIND_WITHHELD, submission_figures_visible
from challenges.selectors import teams_closed
from common import board_modes
from common.numbers import number_text
from datasets.models import Task, TaskVersion
from leaderboard.champion.disclosure import gate_audience
from leaderboard.champion.selectors import crowning_withheld, history_item
from leaderboard.models import ChampionBy, ChampionChange, LeaderboardEntry, Split
from leaderboard.selectors import leaderboard_for_track
from scoring.models import Submission, SubmissionStatus
from scoring.selectors import submission_ladder
from standings.models import FinalStandings, MethodWriteup
from standings.selectors import frozen_document

from .core import REMINDERS, reminders_due, reminders_to_send
from .models import SentOnce, TaskLeader, Topic, WebhookEvent
from .publishing import site_url
from .services import NotificationError, notify_users, participant_ids, participants_told
from .webhooks import webhook_event_emit

logger = logging.getLogger(__name__)


def _once(key: str) -> bool:
    """True the first time ``key`` is claimed (inside the caller's transaction)."""
    try:
        with transaction.atomic():
            SentOnce.objects.create(key=key)
    except IntegrityError:
        return False
    return True


def _member_ids(team: Team) -> list[int]:
    return list(TeamMembership.objects.filter(team=team).values_list("user_id", flat=True))


# --- submissions and teams -----------------------------------------------------------------


def submission_finished(*, submission_pk: int) -> None:
    """Mail the team that a submission failed (on by default) or was scored (opt-in)."""
    sub = (
        Submission.objects.select_related("task__track__challenge", "team")
        .filter(pk=submission_pk)
        .first()
    )
    if sub is None or sub.team.is_baseline:
        return
    url = site_url(path=f"/submissions/{sub.pk}/")
    if sub.status == SubmissionStatus.FAILED:
        topic = Topic.SUBMISSION_FAILED
        subject = f"Submission #{sub.pk} on {sub.task.title} failed"
        body = (
            f"Your team's submission #{sub.pk} on {sub.task.title} failed:\n\n{sub.error}\n\n{url}"
        )
    elif sub.status == SubmissionStatus.SCORED:
        if not submission_figures_visible(submission=sub, user=None):
            topic = Topic.SUBMISSION_SCORED  # a blind phase: scored, and nothing else
            subject = f"Submission #{sub.pk} on {sub.task.title} scored"
            body = f"Your team's submission #{sub.pk} on {sub.task.title} is scored. " + (
                f"{BLIND_WITHHELD[0].upper()}{BLIND_WITHHELD[1:]}.\n\n{url}"
            )
            notify_users(topic=topic, user_ids=_member_ids(sub.team), subject=subject, body=body)
            return
        if board_modes.is_ladder(sub.task.public_board):
            # Its step on the team's ladder is decided by the board's refresh, after this
            # (docs/organizers/ladder.md): the mail is written once the scoring has committed.
            transaction.on_commit(lambda: _ladder_scored_mail(sub.pk), robust=True)
            return
        topic = Topic.SUBMISSION_SCORED
        metric = sub.task.primary_metric
        score = "n/a" if sub.public_score is None else number_text(sub.public_score)
        subject = f"Submission #{sub.pk} on {sub.task.title} scored {score}"
        body = (
            f"Your team's submission #{sub.pk} on {sub.task.title} scored {metric} = {score} "
            f"on the public rows.\n\n{url}"
        )
    else:
        return
    notify_users(topic=topic, user_ids=_member_ids(sub.team), subject=subject, body=body)


def _ladder_scored_mail(submission_pk: int) -> None:
    """The scored mail of a submission on a ladder board: whether it climbed, and the shown
    score, never its exact public score (``scoring.selectors.submission_ladder``)."""
    sub = (
        Submission.objects.select_related("task__track__challenge", "team", "ladder_step")
        .filter(pk=submission_pk)
        .first()
    )
    if sub is None:
        return
    ladder = submission_ladder(submission=sub)
    metric, title = sub.task.primary_metric, sub.task.title
    url = site_url(path=f"/submissions/{sub.pk}/")
    if ladder["climbed"]:
        shown = number_text(ladder["shown_score"])
        subject = f"Submission #{sub.pk} on {title} climbed: shown {metric} {shown}"
        what = f"climbed: your team's shown public {metric} is now {shown}"
    elif ladder["team_shown_score"] is not None:
        shown = number_text(ladder["team_shown_score"])
        subject = f"Submission #{sub.pk} on {title} scored: not better than your shown score"
        what = (
            f"is not better than your team's shown public {metric} ({shown}) by a significant "
            "margin; the shown score stays"
        )
    else:
        subject = f"Submission #{sub.pk} on {title} scored"
        what = "is scored and being weighed against your team's shown public score"
    body = (
        f"Your team's submission #{sub.pk} on {title} {what}. The task's public board is a "
        f"ladder board: an entry's exact public score is shown once the private leaderboard "
        f"is revealed.\n\n{url}"
    )
    notify_users(
        topic=Topic.SUBMISSION_SCORED, user_ids=_member_ids(sub.team), subject=subject, body=body
    )


def team_member_joined(*, membership_pk: int) -> None:
    m = TeamMembership.objects.select_related("team", "user").filter(pk=membership_pk).first()
    if m is None or m.team.is_baseline:
        return
    others = [uid for uid in _member_ids(m.team) if uid != m.user_id]
    notify_users(
        topic=Topic.TEAM,
        user_ids=others,
        subject=f"{m.user.get_username()} joined {m.team.name}",
        body=f"{m.user.get_username()} joined your team {m.team.name}.\n\n"
        + site_url(path=reverse("team-detail", args=[m.team_id])),
    )


def team_invite(*, team: Team, inviter: AbstractBaseUser, who: str) -> AbstractBaseUser:
    """Mail a registered user (by username or e-mail) the team's join link."""
    if not TeamMembership.objects.filter(team=team, user_id=inviter.pk).exists():
        raise NotificationError("Only the team's members can invite.", http_status=403)
    closed = teams_closed(challenge=team.challenge)
    if closed:  # nobody could join: no mail that leads nowhere
        raise NotificationError(closed, code="closed", http_status=409)
    who = who.strip()
    users = get_user_model().objects.filter(is_active=True)
    invitee = users.filter(Q(username__iexact=who) | Q(email__iexact=who)).first() if who else None
    if invitee is None:
        raise NotificationError(
            "No registered user with that username or e-mail; share the invite link instead."
        )
    if TeamMembership.objects.filter(user=invitee, challenge=team.challenge).exists():
        raise NotificationError(f"{invitee.get_username()} is already in a team of this challenge.")
    with transaction.atomic():
        notify_users(
            topic=Topic.TEAM,
            user_ids=[invitee.pk],
            subject=f"{inviter.get_username()} invites you to {team.name}",
            body=f"{inviter.get_username()} invites you to join the team {team.name} in "
            f"{team.challenge.title}. Join here:\n\n{site_url(path=f'/join/{team.invite_code}/')}",
        )
    return invitee


# --- boards ----------------------------------------------------------------------------------


def board_refreshed(*, task_id: int) -> None:
    """After a task's board changed: a new #1 on the public board is a webhook event."""
    first = LeaderboardEntry.objects.filter(task_id=task_id, split=Split.PUBLIC, rank=1)
    # Its team only (no join): the same #1 as before, the common case in every scoring's
    # transaction, needs nothing else. Exact ties share rank 1: the first by place leads.
    top_team = first.order_by("position").values_list("team_id", flat=True).first()
    if top_team is None:
        return
    # In the board's refresh, the hook's savepoint is this receiver's already (no second
    # one: two round trips less per scoring); alone, its own transaction.
    with transaction.atomic(savepoint=False):
        leader, created = TaskLeader.objects.select_for_update().get_or_create(
            task_id=task_id, defaults={"team_id": top_team}
        )
        if not created and leader.team_id == top_team:
            return
        top = first.filter(team_id=top_team).select_related("team", "task__track__challenge")[0]
        if not created:
            leader.team_id = top.team_id
            leader.save()
        task = top.task
        challenge = task.track.challenge
        url = site_url(path=f"/tasks/{task.slug}/leaderboard/")
        webhook_event_emit(
            challenge=challenge,
            event="leader",
            event_key=f"leader:{task.pk}:{top.team_id}:{top.submission_id}",
            text=f"*{top.team.name}* is the new #1 on *{task.title}* "
            f"({task.primary_metric} {number_text(top.score)})",
            fields=[
                ("Task", task.title),
                ("Team", top.team.name),
                (task.primary_metric, number_text(top.score)),
                ("Leaderboard", url),
            ],
            data={
                "challenge": challenge.slug,
                "task": task.slug,
                "team": top.team.name,
                "score": top.score,
                "metric": task.primary_metric,
                "url": url,
            },
        )


def task_data_changed(*, task_id: int, phase_id: int | None = None) -> bool:
    """Once per task and data version: tell the challenge's participants (mail, and the
    ``task_data`` webhook event) that the task has new data and every submission is being
    re-scored, with the reason the organizer or data owner gave; a phase's own data
    (``phase_id``): that phase's entries only (``datasets.phase_versions``)."""
    task = Task.objects.select_related("track__challenge").filter(pk=task_id).first()
    if task is None:
        return False
    version = task.data_version
    with transaction.atomic():
        if not _once(f"task-data:{task.pk}:{version}"):
            return False
        challenge = task.track.challenge
        note = (
            TaskVersion.objects.filter(task=task, number=version)
            .values_list("note", flat=True)
            .first()
        ) or ""
        url = site_url(path=f"/tasks/{task.slug}/")
        why = f"\n\nWhy: {note}" if note else ""
        which = "Every submission of the task is"
        if phase_id is not None:
            which = "The submissions of this phase are (earlier phases' keep their scores)"
        participants_told(
            challenge=challenge,
            topic=Topic.TASK_DATA,
            subject=f"{task.title}: new data (version {version}); submissions are re-scored",
            body=(
                f"The data of {task.title} was updated to version {version}: "
                f"{task.train_rows:,} train and {task.test_rows:,} test rows.{why}\n\n"
                f"{which} being scored on the new data, so their "
                "scores and ranks may change; a submission whose ids no longer match the new "
                f"test file fails with the reason. Download the new files from\n{url}"
            ),
            event=WebhookEvent.TASK_DATA,
            event_key=f"task-data:{task.pk}:{version}",
            text=f"*{task.title}* has new data (version {version}); submissions are re-scored.",
            fields=[("Task", task.title), ("Version", str(version)), ("Link", url)],
            data={"task": task.slug, "version": version, "url": url, "reason": note},
        )
    return True


def champion_changed(*, task_id: int, change_id: int) -> list[int]:
    """A task's champion changed: the ``champion`` webhook event, once per change, with the
    figures the public may see (``leaderboard.champion.selectors.history_item``)."""
    change = (
        ChampionChange.objects.select_related("task__track__challenge", "team", "previous")
        .filter(pk=change_id, task_id=task_id)
        .first()
    )
    if change is None:
        return []
    task = change.task
    challenge = task.track.challenge
    if crowning_withheld(change=change, audience=gate_audience(task=task, user=None)):
        return []  # a team's entry crowned on a ladder board's public split: not announced
    item = history_item(change=change, user=None, private=challenge.private_visible())
    url = site_url(path=f"/tasks/{task.slug}/#champion")
    metric = task.primary_metric
    passed = "the gate could not tell; the challenge crowns those"
    if item["verdict"] != "cannot_tell":
        passed = "gate passed"
    if change.by == ChampionBy.PIN:
        how = f"pinned by the organizers: {change.reason}"
    elif change.by == ChampionBy.INITIAL:
        how = change.reason or "the start: the task's primary reference"
    elif item["difference"] is not None:
        how = f"{metric} {item['difference']:+.4f} better, NFR {item['nfr']:.2%} ({passed})"
    else:
        how = "it passed the gate" if passed == "gate passed" else passed
    return webhook_event_emit(
        challenge=challenge,
        event=WebhookEvent.CHAMPION,
        event_key=f"champion:{task.pk}:{change.pk}",
        text=f"*{change.label}* is the new champion of *{task.title}* ({how})",
        fields=[
            ("Task", task.title),
            ("Champion", change.label),
            ("Team", item["team"] or "—"),
            ("How", how),
            ("Timeline", url),
        ],
        data={
            "challenge": challenge.slug,
            "task": task.slug,
            "metric": metric,
            **item,
            "at": change.at.isoformat(),
            "url": url,
        },
    )


def challenge_revealed(*, challenge: Challenge) -> bool:
    """Once per challenge: mail participants and send the ``reveal`` webhook event."""
    with transaction.atomic():
        if not _once(f"reveal:{challenge.pk}"):
            return False
        url = site_url(path=f"/c/{challenge.slug}/")
        participants_told(
            challenge=challenge,
            topic=Topic.REVEAL,
            subject=f"{challenge.title}: the private leaderboard is revealed",
            body=f"The private leaderboards of {challenge.title} are now public.\n\n{url}",
            event="reveal",
            event_key=f"reveal:{challenge.pk}",
            text=f"The private leaderboards of *{challenge.title}* are revealed.",
            fields=[("Challenge", challenge.title), ("Link", url)],
            data={"challenge": challenge.slug, "url": url},
        )
    return True


def challenge_finished(*, challenge_pk: int) -> None:
    """The standings were frozen: mail participants the winners and send ``standings``.

    Frozen is not revealed: while the private split is sealed (what the public may read,
    ``standings.selectors.frozen_document``), no winner is named, only where to find them.
    """
    frozen = (
        FinalStandings.objects.select_related("challenge").filter(challenge_id=challenge_pk).first()
    )
    if frozen is None:
        return
    challenge = frozen.challenge
    doc = frozen_document(frozen=frozen, challenge=challenge, user=None)
    lines, fields = [], []
    for track in doc["tracks"]:
        top = [e for e in track["entries"] if e.get("rank") is not None][:3]
        names = ", ".join(f"#{e['rank']} {e['team']}" for e in top) or "no ranked team"
        if not doc.get("revealed", True):
            names = "named when the private leaderboard is revealed"
        winners_url = site_url(path=f"/tracks/{track['track']}/winners/")
        lines.append(f"{track['title']}: {names} — {winners_url}")
        fields.append((track["title"], names))
    url = site_url(path=f"/api/v1/challenges/{challenge.slug}/standings/")
    with transaction.atomic():
        if not _once(f"standings:{challenge.pk}"):
            return
        participants_told(
            challenge=challenge,
            topic=Topic.STANDINGS,
            subject=f"{challenge.title}: final standings",
            body="The final standings are frozen.\n\n"
            + "\n".join(lines)
            + f"\n\nsha256 {frozen.sha256}\n{url}",
            event="standings",
            event_key=f"standings:{challenge.pk}",
            text=f"Final standings of *{challenge.title}* are frozen.",
            fields=fields,
            data={"challenge": challenge.slug, "sha256": frozen.sha256, "url": url},
        )


# --- time-driven (beat) ----------------------------------------------------------------------


def deadline_reminders(*, now: datetime | None = None) -> list[str]:
    """Send the 7-day and 1-day reminders of open challenges, once each per end date."""
    now = now or timezone.now()
    sent: list[str] = []
    soon = now + max(lead for _, lead in REMINDERS)
    for challenge in Challenge.objects.filter(start__lte=now, end__gt=now, end__lte=soon):
        due = reminders_due(now=now, start=challenge.start, end=challenge.end)
        send, skip = reminders_to_send(due)
        if send is None:
            continue
        stamp = challenge.end.isoformat()
        with transaction.atomic():
            for name in skip:
                _once(f"deadline:{challenge.pk}:{stamp}:{name}")
            if not _once(f"deadline:{challenge.pk}:{stamp}:{send}"):
                continue
            left = "7 days" if send == "7d" else "1 day"
            notify_users(
                topic=Topic.DEADLINE,
                user_ids=participant_ids(challenge=challenge),
                subject=f"{challenge.title} ends in {left}",
                body=f"{challenge.title} closes on {challenge.end:%Y-%m-%d %H:%M} UTC. "
                "Choose your final submissions before then.\n\n"
                + site_url(path=f"/c/{challenge.slug}/"),
            )
            writeup_reminders(challenge=challenge, stamp=f"{stamp}:{send}")
        sent.append(f"{challenge.slug}:{send}")
    return sent


def writeup_reminders(*, challenge: Challenge, stamp: str) -> list[int]:
    """Remind the top ``writeups_required_top`` teams of each track's public board that have
    no method write-up yet (with the deadline reminders, or from the console)."""
    n = challenge.writeups_required_top
    if n <= 0:
        return []
    team_ids: set[int] = set()
    for track in challenge.tracks.all():
        board = leaderboard_for_track(track=track, split=Split.PUBLIC)
        team_ids |= {r.team_id for r in board.rows if r.rank is not None and r.rank <= n}
    have = set(MethodWriteup.objects.filter(team_id__in=team_ids).values_list("team_id", flat=True))
    reminded = []
    for team in Team.objects.filter(pk__in=team_ids - have, is_hidden=False):
        if not _once(f"writeup:{team.pk}:{stamp}"):
            continue
        notify_users(
            topic=Topic.WRITEUP,
            user_ids=_member_ids(team),
            subject=f"{challenge.title}: please write up your method",
            body=f"Your team {team.name} is in the top {n} of a track. The organizers ask the "
            f"top {n} teams to describe their method before the end "
            f"({challenge.end:%Y-%m-%d %H:%M} UTC):\n\n"
            + site_url(path=f"/teams/{team.pk}/method/edit/"),
        )
        reminded.append(team.pk)
    return reminded


def reveals_check(*, now: datetime | None = None) -> list[str]:
    """Challenges revealed (by the organizer's action or ``reveal_at``) not yet announced."""
    now = now or timezone.now()
    done = []
    candidates = Challenge.objects.filter(Q(private_revealed=True) | Q(reveal_at__lte=now))
    announced = set(
        SentOnce.objects.filter(key__startswith="reveal:").values_list("key", flat=True)
    )
    for challenge in candidates:
        if f"reveal:{challenge.pk}" in announced or not challenge.private_visible(now):
            continue
        if challenge_revealed(challenge=challenge):
            done.append(challenge.slug)
    return done
