"""Discussion threads: per challenge, optionally about one task, made of Markdown posts
(docs/decisions/0067-discussion-threads-written-here.md).

A post's HTML is rendered once, when it is saved, by the platform's one renderer
(``challenges.markdown.MarkdownHtmlField``); pages and the API show the stored HTML. A
hidden post keeps its text for the organizers; a deleted post keeps its history
(:class:`PostRevision`) for them too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from challenges.markdown import MarkdownHtmlField


class Thread(models.Model):
    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="threads"
    )
    task = models.ForeignKey(
        "datasets.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="threads"
    )
    title = models.CharField(max_length=200)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_post_at = models.DateTimeField()
    locked = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    answer = models.OneToOneField(
        "discussion.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-pinned", "-last_post_at", "-id"]
        indexes = [models.Index(fields=["challenge", "-pinned", "-last_post_at"])]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The author's team when they posted (shown beside the name), and whether they wrote as
    # one of the organizers (the post is marked as the organizers').
    team = models.ForeignKey(
        "challenges.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    by_organizers = models.BooleanField(default=False)
    body = models.TextField()
    body_html = MarkdownHtmlField(source="body")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["author", "created_at"])]

    def __str__(self) -> str:
        return f"post {self.pk} in thread {self.thread_id}"

    @property
    def challenge(self):  # the audit log files a post's moderation under its challenge
        return self.thread.challenge

    @property
    def shown(self) -> bool:
        """Whether readers see its text (neither hidden by the organizers nor deleted)."""
        return not self.hidden and self.deleted_at is None


class PostRevision(models.Model):
    """A post's text as it was before an edit or a deletion (the organizers read them)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    replaced_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=16)  # "edited" or "deleted"

    class Meta:
        ordering = ["replaced_at", "id"]

    def __str__(self) -> str:
        return f"revision of post {self.post_id} ({self.reason})"


class ThreadFollow(models.Model):
    """Someone who hears of a thread's replies, answer and organizers' posts."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="one_follow_per_thread_user")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} follows thread {self.thread_id}"
