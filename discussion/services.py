"""Writes of the discussion (docs/decisions/0067-discussion-threads-written-here.md): threads,
posts, answers, following and the organizers' moderation.

Every post a participant writes passes the platform's gates in one order: the challenge's
rules (``challenges.rules.rules_gate``: 403 ``rules_not_accepted``), a locked thread (409
``thread_locked``), the size cap (400), the person's daily budget
(``DISCUSSION_POSTS_PER_DAY``: 429 ``discussion_daily_limit``) and the team's upload rate
(``challenges.upload_budget.upload_rate_take``: 429 ``rate_limited``, posts counted with
every upload of the team). Organizers are asked none of the budgets. The text is rendered
once, when it is saved (``challenges.markdown``). The organizers' actions (hide, lock, pin)
need a reason and are written to the audit log in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from challenges import hooks
from challenges.audit import audit_record
from challenges.models import Challenge, Team
from challenges.rules import rules_gate
from challenges.selectors import is_organizer, team_for_user
from challenges.team_names import invisible_characters
from challenges.upload_budget import (
    RATE_LIMITED,
    refused_as,
    upload_daily_check,
    upload_day_start,
    upload_rate_take,
)
from common.refusals import Refusal
from datasets.models import Task

from .models import Post, PostRevision, Thread, ThreadFollow

TITLE_MAX = 200
REASON_MAX = 500
DAILY_LIMIT = "discussion_daily_limit"


class DiscussionRefused(Refusal):
    """A discussion request refused before anything changed (``code``, ``message``,
    ``http_status``, ``retry_after``)."""


def _budget_refused(code: str, message: str, http_status: int, *, retry_after=None) -> Refusal:
    if code == RATE_LIMITED:  # the upload budget words it for files: say posts count too
        message = message.replace("Too many uploads", "Too many uploads and posts", 1)
    return DiscussionRefused(code, message, http_status, retry_after=retry_after)


# --- checks -----------------------------------------------------------------------------------


def _body_clean(body: str) -> str:
    body = (body or "").replace("\x00", "").strip()
    if not body:
        raise DiscussionRefused("post_empty", "A post needs some text.", 400)
    limit = settings.DISCUSSION_POST_MAX_CHARS
    if len(body) > limit:
        raise DiscussionRefused(
            "post_too_long",
            f"A post holds at most {limit:,} characters; this one has {len(body):,}. "
            "Shorten it, or link to a longer text.",
            400,
        )
    return body


def _title_clean(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise DiscussionRefused("title_invalid", "A thread needs a title.", 400)
    if len(title) > TITLE_MAX:
        raise DiscussionRefused(
            "title_invalid", f"A title holds at most {TITLE_MAX} characters.", 400
        )
    if invisible_characters(name=title):
        raise DiscussionRefused(
            "title_invalid", "A title may not contain characters that show as nothing.", 400
        )
    return title


def _reason_clean(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DiscussionRefused(
            "reason_required", "Say why (the reason is shown and kept in the audit log).", 400
        )
    return reason[:REASON_MAX]


def _organizers_only(user: AbstractBaseUser) -> None:
    if not is_organizer(user=user):
        raise DiscussionRefused(
            "organizers_only", "Only the challenge's organizers may do this.", 403
        )


def _writer_team(*, challenge: Challenge, user: AbstractBaseUser) -> Team | None:
    """The gates of every post after its size (rules, daily budget, team rate), in that order;
    returns the author's team (None for organizers and people without a team)."""
    rules_gate(challenge=challenge, user=user)
    if is_organizer(user=user):
        return None
    team = team_for_user(challenge=challenge, user=user)
    limit = settings.DISCUSSION_POSTS_PER_DAY
    with refused_as(refusal=_budget_refused):
        if limit > 0:
            used = Post.objects.filter(
                author=user, thread__challenge=challenge, created_at__gte=upload_day_start()
            ).count()
            upload_daily_check(
                used=used,
                limit=limit,
                code=DAILY_LIMIT,
                refused=f"You have written today's {limit} posts in {challenge.title}",
            )
        if team is not None:  # a person in no team yet has their daily budget alone
            upload_rate_take(team=team)
    return team


def _post_write(*, thread: Thread, user: AbstractBaseUser, body: str, team: Team | None) -> Post:
    post = Post.objects.create(
        thread=thread,
        author=user,
        team=team,
        by_organizers=is_organizer(user=user),
        body=body,
    )
    ThreadFollow.objects.get_or_create(thread=thread, user=user)
    return post


# --- threads and posts ---------------------------------------------------------------------


def thread_create(
    *,
    challenge: Challenge,
    user: AbstractBaseUser,
    title: str,
    body: str,
    task_slug: str | None = None,
) -> Thread:
    """Open a thread (its first post is ``body``); its author follows it. An organizers'
    thread is told to the challenge's webhooks."""
    title = _title_clean(title)
    body = _body_clean(body)
    task = None
    if task_slug:
        task = Task.objects.filter(slug=task_slug, track__challenge=challenge).first()
        if task is None:
            raise DiscussionRefused(
                "unknown_task", f"{challenge.title} has no task {task_slug!r}.", 400
            )
    with transaction.atomic():
        team = _writer_team(challenge=challenge, user=user)
        thread = Thread.objects.create(
            challenge=challenge, task=task, title=title, author=user, last_post_at=timezone.now()
        )
        post = _post_write(thread=thread, user=user, body=body, team=team)
        if post.by_organizers:
            hooks.emit(event=hooks.DiscussionPosted(post_id=post.pk, kind="post"))
    return thread


def post_create(*, thread: Thread, user: AbstractBaseUser, body: str) -> Post:
    """Reply in ``thread`` (409 ``thread_locked`` when it is locked, for everyone but the
    organizers); the author follows it, and its followers hear of the reply."""
    body = _body_clean(body)
    with transaction.atomic():
        thread = Thread.objects.select_for_update().select_related("challenge").get(pk=thread.pk)
        if thread.locked and not is_organizer(user=user):
            rules_gate(challenge=thread.challenge, user=user)
            raise DiscussionRefused(
                "thread_locked", "This thread is locked by the organizers: no new posts.", 409
            )
        team = _writer_team(challenge=thread.challenge, user=user)
        post = _post_write(thread=thread, user=user, body=body, team=team)
        Thread.objects.filter(pk=thread.pk).update(last_post_at=post.created_at)
        hooks.emit(event=hooks.DiscussionPosted(post_id=post.pk, kind="post"))
    return post


def _own_post(*, post: Post, user: AbstractBaseUser) -> Post:
    post = Post.objects.select_for_update().select_related("thread__challenge").get(pk=post.pk)
    if post.author_id != user.pk:
        raise DiscussionRefused("not_author", "Only its author may change a post.", 403)
    if post.deleted_at is not None:
        raise DiscussionRefused("post_deleted", "This post was deleted.", 409)
    return post


def post_edit(*, post: Post, user: AbstractBaseUser, body: str) -> Post:
    """The author's new text for their post, within ``DISCUSSION_EDIT_MINUTES`` of posting
    (409 ``edit_window_closed`` after); the former text is kept for the organizers."""
    body = _body_clean(body)
    with transaction.atomic():
        post = _own_post(post=post, user=user)
        thread = post.thread
        rules_gate(challenge=thread.challenge, user=user)
        if post.hidden:
            raise DiscussionRefused("post_hidden", "The organizers hid this post.", 409)
        if thread.locked and not is_organizer(user=user):
            raise DiscussionRefused(
                "thread_locked", "This thread is locked by the organizers: no edits.", 409
            )
        minutes = settings.DISCUSSION_EDIT_MINUTES
        if timezone.now() > post.created_at + timedelta(minutes=minutes):
            raise DiscussionRefused(
                "edit_window_closed",
                f"A post can be edited for {minutes} minutes after it was written; "
                "write a new reply instead.",
                409,
            )
        if post.team is not None and not is_organizer(user=user):
            with refused_as(refusal=_budget_refused):
                upload_rate_take(team=post.team)
        PostRevision.objects.create(post=post, body=post.body, reason="edited")
        post.body = body
        post.edited_at = timezone.now()
        post.save(update_fields=["body", "body_html", "edited_at"])
    return post


def post_delete(*, post: Post, user: AbstractBaseUser) -> Post:
    """The author deletes their post: readers no longer see its text (the organizers keep
    its history); an answer it was is an answer no more."""
    with transaction.atomic():
        post = _own_post(post=post, user=user)
        PostRevision.objects.create(post=post, body=post.body, reason="deleted")
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
        Thread.objects.filter(pk=post.thread_id, answer=post).update(answer=None)
    return post


def answer_mark(*, post: Post, user: AbstractBaseUser) -> Thread:
    """Mark ``post`` as its thread's answer (the thread's author or an organizer); the
    followers hear of it. Marking the answer again changes nothing."""
    with transaction.atomic():
        thread = (
            Thread.objects.select_for_update().select_related("challenge").get(pk=post.thread_id)
        )
        post = Post.objects.get(pk=post.pk)
        if thread.author_id != user.pk and not is_organizer(user=user):
            raise DiscussionRefused(
                "not_thread_author",
                "Only the thread's author or an organizer may mark its answer.",
                403,
            )
        rules_gate(challenge=thread.challenge, user=user)
        if not post.shown:
            raise DiscussionRefused(
                "post_hidden", "A hidden or deleted post cannot be the answer.", 409
            )
        if thread.answer_id == post.pk:
            return thread
        thread.answer = post
        thread.save(update_fields=["answer"])
        hooks.emit(event=hooks.DiscussionPosted(post_id=post.pk, kind="answer"))
    return thread


# --- following -------------------------------------------------------------------------------


def thread_follow(*, thread: Thread, user: AbstractBaseUser) -> bool:
    """``user`` follows ``thread``; False when they already did."""
    try:
        with transaction.atomic():
            ThreadFollow.objects.create(thread=thread, user=user)
    except IntegrityError:
        return False
    return True


def thread_unfollow(*, thread: Thread, user: AbstractBaseUser) -> bool:
    """``user`` no longer follows ``thread``; False when they did not."""
    deleted, _ = ThreadFollow.objects.filter(thread=thread, user=user).delete()
    return bool(deleted)


# --- the organizers' moderation ------------------------------------------------------------


def post_hide(*, post: Post, user: AbstractBaseUser, reason: str, hidden: bool = True) -> Post:
    """Hide a post from readers (they see that it was hidden, and why) or show it again;
    audited. A hidden answer is an answer no more."""
    _organizers_only(user)
    reason = _reason_clean(reason)
    with transaction.atomic():
        post = Post.objects.select_for_update().select_related("thread__challenge").get(pk=post.pk)
        if post.hidden == hidden:
            return post
        post.hidden = hidden
        post.hidden_reason = reason if hidden else ""
        post.save(update_fields=["hidden", "hidden_reason"])
        if hidden:
            Thread.objects.filter(pk=post.thread_id, answer=post).update(answer=None)
        audit_record(
            actor=user,
            action="discussion.post.hide" if hidden else "discussion.post.restore",
            obj=post,
            before={"hidden": not hidden},
            after={"hidden": hidden},
            reason=reason,
            reason_required=True,
        )
    return post


def _thread_flag(
    *, thread: Thread, user: AbstractBaseUser, reason: str, field: str, value: bool, action: str
) -> Thread:
    _organizers_only(user)
    reason = _reason_clean(reason)
    with transaction.atomic():
        thread = Thread.objects.select_for_update().select_related("challenge").get(pk=thread.pk)
        if getattr(thread, field) == value:
            return thread
        setattr(thread, field, value)
        thread.save(update_fields=[field])
        audit_record(
            actor=user,
            action=action,
            obj=thread,
            before={field: not value},
            after={field: value},
            reason=reason,
            reason_required=True,
        )
    return thread


def thread_lock(
    *, thread: Thread, user: AbstractBaseUser, reason: str, locked: bool = True
) -> Thread:
    """Lock a thread (new posts refused, 409 ``thread_locked``) or open it again; audited."""
    action = "discussion.thread.lock" if locked else "discussion.thread.unlock"
    return _thread_flag(
        thread=thread, user=user, reason=reason, field="locked", value=locked, action=action
    )


def thread_pin(
    *, thread: Thread, user: AbstractBaseUser, reason: str, pinned: bool = True
) -> Thread:
    """Pin a thread at the top of its challenge's list, or unpin it; audited."""
    action = "discussion.thread.pin" if pinned else "discussion.thread.unpin"
    return _thread_flag(
        thread=thread, user=user, reason=reason, field="pinned", value=pinned, action=action
    )
