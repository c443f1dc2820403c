"""The discussion's pages: a challenge's thread list (search, task filter, a new thread),
a thread (replies, answer, follow, the author's edit and delete, the organizers'
moderation). Thin: each parses its form, calls one service or selector, renders. A
refusal is shown on the page with the API's status (and ``Retry-After`` for a budget); a
missing rules acceptance goes to the rules page (``challenges.middleware``)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from challenges.models import Challenge
from challenges.selectors import is_organizer
from datasets.models import Task

from . import selectors, services
from .services import DiscussionRefused


class ThreadForm(forms.Form):
    title = forms.CharField(max_length=200)
    task = forms.CharField(required=False, max_length=100)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Question (Markdown)")


class PostForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Reply (Markdown)")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)
    value = forms.BooleanField(required=False)


def _refusal(response: HttpResponse, exc: DiscussionRefused) -> HttpResponse:
    response.status_code = exc.http_status
    retry = exc.retry_seconds()
    if retry is not None:
        response["Retry-After"] = str(retry)
    return response


def thread_list(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    task_slug = request.GET.get("task") or ""
    query = (request.GET.get("q") or "")[: selectors.QUERY_MAX]
    form = ThreadForm(request.POST or None, initial={"task": task_slug})
    refused = None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        if form.is_valid():
            try:
                thread = services.thread_create(
                    challenge=challenge,
                    user=request.user,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    task_slug=form.cleaned_data["task"] or None,
                )
            except DiscussionRefused as exc:
                form.add_error(None, exc.message)
                refused = exc
            else:
                return redirect("discussion:thread-detail", pk=thread.pk)
    threads = selectors.thread_list(challenge=challenge, task_slug=task_slug, query=query)[:200]
    response = render(
        request,
        "discussion/thread_list.html",
        {
            "challenge": challenge,
            "threads": [selectors.thread_summary(thread=t) for t in threads],
            "tasks": Task.objects.filter(track__challenge=challenge).order_by("slug"),
            "task_slug": task_slug,
            "query": query,
            "form": form,
            "max_chars": settings.DISCUSSION_POST_MAX_CHARS,
        },
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )
    return _refusal(response, refused) if refused else response


def _thread_page(
    request: HttpRequest, thread, *, form: PostForm | None = None, status: int = 200
) -> HttpResponse:
    doc = selectors.thread_document(thread=thread, user=request.user)
    return render(
        request,
        "discussion/thread_detail.html",
        {
            "thread": thread,
            "doc": doc,
            "challenge": thread.challenge,
            "form": form or PostForm(),
            "organizer": is_organizer(user=request.user),
            "can_answer": request.user.is_authenticated
            and (thread.author_id == request.user.pk or is_organizer(user=request.user)),
            "my_posts": {
                p.pk for p in thread.posts.all() if p.author_id == getattr(request.user, "pk", -1)
            },
            "max_chars": settings.DISCUSSION_POST_MAX_CHARS,
        },
        status=status,
    )


def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _thread_page(request, selectors.thread_get(pk=pk))


@login_required
@require_POST
def thread_reply(request: HttpRequest, pk: int) -> HttpResponse:
    thread = selectors.thread_get(pk=pk)
    form = PostForm(request.POST)
    if not form.is_valid():
        return _thread_page(request, thread, form=form, status=400)
    try:
        post = services.post_create(
            thread=thread, user=request.user, body=form.cleaned_data["body"]
        )
    except DiscussionRefused as exc:
        form.add_error(None, exc.message)
        return _refusal(_thread_page(request, thread, form=form), exc)
    return redirect(f"/threads/{thread.pk}/#post-{post.pk}")


def _act(request: HttpRequest, thread, action) -> HttpResponse:
    """Run one action; its refusal becomes a message and its status."""
    try:
        action()
    except DiscussionRefused as exc:
        messages.error(request, exc.message)
        return _refusal(_thread_page(request, selectors.thread_get(pk=thread.pk)), exc)
    return redirect("discussion:thread-detail", pk=thread.pk)


@login_required
@require_POST
def thread_follow(request: HttpRequest, pk: int) -> HttpResponse:
    thread = selectors.thread_get(pk=pk)
    if request.POST.get("follow") == "0":
        services.thread_unfollow(thread=thread, user=request.user)
    else:
        services.thread_follow(thread=thread, user=request.user)
    return redirect("discussion:thread-detail", pk=thread.pk)


@login_required
@require_POST
def post_answer(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.post_get(pk=pk)
    return _act(request, post.thread, lambda: services.answer_mark(post=post, user=request.user))


@login_required
@require_POST
def post_delete(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.post_get(pk=pk)
    return _act(request, post.thread, lambda: services.post_delete(post=post, user=request.user))


@login_required
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.post_get(pk=pk)
    form = PostForm(request.POST or None, initial={"body": post.body})
    status, refused = 200, ""
    if post.author_id != request.user.pk:
        status, refused = 403, "Only its author may change a post."
    elif request.method == "POST":
        if form.is_valid():
            try:
                services.post_edit(post=post, user=request.user, body=form.cleaned_data["body"])
            except DiscussionRefused as exc:
                status, refused = exc.http_status, exc.message
            else:
                return redirect(f"/threads/{post.thread_id}/#post-{post.pk}")
        else:
            status = 400
    return render(
        request,
        "discussion/post_edit.html",
        {"post": post, "form": None if status == 403 else form, "refused": refused},
        status=status,
    )


def _moderate(request: HttpRequest, thread, call) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why (the reason is shown and kept in the audit log).")
        return _thread_page(request, thread, status=400)
    return _act(
        request, thread, lambda: call(form.cleaned_data["reason"], form.cleaned_data["value"])
    )


@login_required
@require_POST
def post_hide(request: HttpRequest, pk: int) -> HttpResponse:
    post = selectors.post_get(pk=pk)
    return _moderate(
        request,
        post.thread,
        lambda reason, value: services.post_hide(
            post=post, user=request.user, reason=reason, hidden=value
        ),
    )


@login_required
@require_POST
def thread_lock(request: HttpRequest, pk: int) -> HttpResponse:
    thread = selectors.thread_get(pk=pk)
    return _moderate(
        request,
        thread,
        lambda reason, value: services.thread_lock(
            thread=thread, user=request.user, reason=reason, locked=value
        ),
    )


@login_required
@require_POST
def thread_pin(request: HttpRequest, pk: int) -> HttpResponse:
    thread = selectors.thread_get(pk=pk)
    return _moderate(
        request,
        thread,
        lambda reason, value: services.thread_pin(
            thread=thread, user=request.user, reason=reason, pinned=value
        ),
    )
