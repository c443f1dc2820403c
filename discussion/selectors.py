"""Reads of the discussion: the thread lists (searched, filtered by task) and the one
document of a thread that the API returns and the pages show
(docs/decisions/0067-discussion-threads-written-here.md).

Reading is public, as the challenge's boards are. A hidden post's text and a deleted
post's text reach nobody but the organizers (who read a hidden post's text, marked so); the
fact and the reason are shown to everyone. Names are shown under the platform's rules for
names (``challenges.team_names``): usernames and team names are unique by how they read, a
name that imitates a reserved word ("organizer", "baseline"...) is shown marked as a
participant's, and only a post written by an organizer is marked as the organizers'.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from challenges.markdown import stored_html
from challenges.models import Challenge
from challenges.selectors import is_organizer
from challenges.team_names import invisible_characters, name_imitates

from .models import Post, Thread, ThreadFollow

QUERY_MAX = 200  # characters of a search


def author_name(*, user: AbstractBaseUser | None, organizer: bool) -> str:
    """How a post's author is named on pages and in the API."""
    if user is None:
        return "a deleted account"
    name = user.get_username()
    if invisible_characters(name=name):  # older than the rule: show the account's number instead
        name = f"user-{user.pk}"
    if not organizer and name_imitates(name=name):
        return f"{name} (participant)"
    return name


def thread_list(
    *, challenge: Challenge, task_slug: str | None = None, query: str | None = None
) -> QuerySet[Thread]:
    """The challenge's threads, pinned first then the latest active, with their post
    count; ``task_slug`` keeps the threads about that task, ``query`` those whose title or
    shown text contains it (case-insensitive)."""
    threads = (
        Thread.objects.filter(challenge=challenge)
        .select_related("task", "author")
        .annotate(post_count=Count("posts"))
    )
    if task_slug:
        threads = threads.filter(task__slug=task_slug)
    query = (query or "").strip()[:QUERY_MAX]
    if query:
        in_text = Post.objects.filter(
            thread=OuterRef("pk"), body__icontains=query, hidden=False, deleted_at__isnull=True
        )
        threads = threads.filter(Q(title__icontains=query) | Exists(in_text))
    return threads.order_by("-pinned", "-last_post_at", "-id")


def thread_get(*, pk: int) -> Thread:
    thread = Thread.objects.select_related("challenge", "task", "author").filter(pk=pk).first()
    if thread is None:
        raise Http404("There is no such thread.")
    return thread


def post_get(*, pk: int) -> Post:
    post = Post.objects.select_related("thread__challenge", "author").filter(pk=pk).first()
    if post is None:
        raise Http404("There is no such post.")
    return post


def thread_summary(*, thread: Thread) -> dict[str, Any]:
    """One line of a thread list."""
    return {
        "id": thread.pk,
        "title": thread.title,
        "task": thread.task.slug if thread.task_id else None,
        "author": author_name(user=thread.author, organizer=_is_staff(thread.author)),
        "answered": thread.answer_id is not None,
        "locked": thread.locked,
        "pinned": thread.pinned,
        "posts": getattr(thread, "post_count", None) or thread.posts.count(),
        "created": thread.created_at,
        "last_post": thread.last_post_at,
    }


def _is_staff(user: AbstractBaseUser | None) -> bool:
    return bool(user is not None and user.is_staff)


def post_document(*, post: Post, answer_id: int | None, organizer_reader: bool) -> dict[str, Any]:
    """One post as a reader may see it."""
    deleted = post.deleted_at is not None
    visible = not deleted and (not post.hidden or organizer_reader)
    return {
        "id": post.pk,
        "author": author_name(user=post.author, organizer=post.by_organizers),
        "team": post.team.name if post.team_id and post.team else None,
        "by_organizers": post.by_organizers,
        "body_html": stored_html(value=post.body_html) if visible else "",
        "created": post.created_at,
        "edited": post.edited_at,
        "is_answer": post.pk == answer_id,
        "hidden": post.hidden,
        "hidden_reason": post.hidden_reason if post.hidden else "",
        "deleted": deleted,
    }


def thread_document(*, thread: Thread, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """The thread with its posts, oldest first, as ``user`` may read it."""
    organizer = is_organizer(user=user)
    posts = thread.posts.select_related("author", "team").order_by("created_at", "id")
    following = bool(
        user.is_authenticated and ThreadFollow.objects.filter(thread=thread, user=user).exists()
    )
    return {
        **thread_summary(thread=thread),
        "challenge": thread.challenge.slug,
        "following": following,
        "posts": [
            post_document(post=post, answer_id=thread.answer_id, organizer_reader=organizer)
            for post in posts
        ],
    }


def thread_followers(*, thread: Thread) -> list[int]:
    """The ids of the users who follow ``thread``."""
    return list(ThreadFollow.objects.filter(thread=thread).values_list("user_id", flat=True))


def thread_count_for_task(*, task_id: int) -> int:
    """How many threads are about one task (the task page's link says it)."""
    return Thread.objects.filter(task_id=task_id).count()
