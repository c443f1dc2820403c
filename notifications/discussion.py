"""A discussion thread's followers hear of a reply, an answer and an organizers' post
(docs/decisions/0067-discussion-threads-written-here.md): a mail each (topic
``discussion``, as their settings allow) and the challenge's webhooks (event
``discussion``). Called after the post's transaction commits (``challenges.hooks.
DiscussionPosted``); a post hidden or deleted by then is told to nobody, and no mail or
webhook carries a post's text (a post hidden later is not left in anyone's inbox): they
say who wrote in which thread, with its link.
"""

from __future__ import annotations

from discussion.models import Post
from discussion.selectors import author_name, thread_followers

from .models import Topic, WebhookEvent
from .publishing import site_url
from .services import notify_users
from .webhooks import webhook_event_emit


def _slack_escaped(text: str) -> str:
    """A participant's words in Slack's mrkdwn: no ``<!channel>`` ping, no forged link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def discussion_posted(*, post_id: int, kind: str) -> None:
    post = (
        Post.objects.select_related("thread__challenge", "thread__task", "author")
        .filter(pk=post_id)
        .first()
    )
    if post is None or not post.shown:
        return
    thread = post.thread
    if kind == "answer" and thread.answer_id != post.pk:
        return  # another post became the answer since
    who = author_name(user=post.author, organizer=post.by_organizers)
    url = site_url(path=f"/threads/{thread.pk}/#post-{post.pk}")
    where = f"{thread.challenge.title}" + (f", task {thread.task.title}" if thread.task_id else "")
    if kind == "answer":
        subject = f"Answered: {thread.title}"
        said = f"The post of {who} was marked as the answer to “{thread.title}” ({where})."
    elif post.by_organizers:
        subject = f"The organizers replied: {thread.title}"
        said = f"{who}, for the organizers, posted in “{thread.title}” ({where})."
    else:
        subject = f"Re: {thread.title}"
        said = f"{who} replied in “{thread.title}” ({where})."
    followers = [
        uid
        for uid in thread_followers(thread=thread)
        if uid != post.author_id or kind == "answer"  # nobody hears of their own reply
    ]
    notify_users(
        topic=Topic.DISCUSSION,
        user_ids=followers,
        subject=subject,
        body=f"{said}\n\nRead it: {url}\n\nYou follow this thread; stop on its page.",
    )
    webhook_event_emit(
        challenge=thread.challenge,
        event=WebhookEvent.DISCUSSION,
        event_key=f"discussion:{kind}:{post.pk}",
        text=f"{_slack_escaped(said)} <{url}|Read it>",
        fields=[("Thread", _slack_escaped(thread.title)), ("By", _slack_escaped(who))],
        data={
            "thread": thread.pk,
            "post": post.pk,
            "kind": kind,
            "by_organizers": post.by_organizers,
            "task": thread.task.slug if thread.task_id else None,
        },
    )
