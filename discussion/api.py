"""The discussion's API (docs/architecture.md §7;
docs/decisions/0067-discussion-threads-written-here.md): one view per operation, every
answer documented, refusals as ``{"detail", "code"}``.

Reading is public; every write needs a login (401), and a post the challenge's accepted
rules (403 ``rules_not_accepted``, answered by the API's exception handler).
"""

from __future__ import annotations

from collections.abc import Callable

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.api.errors import error_responses, refusal_response
from challenges.api.pagination import BoundedLimitOffsetPagination
from challenges.models import Challenge

from . import selectors, services
from .models import Thread
from .selectors import QUERY_MAX
from .services import DiscussionRefused

RULES = "The challenge's rules are not accepted yet (`rules_not_accepted`, with `rules_url`)."
BUDGET = (
    "Over a budget, see Retry-After and `retry_after`: the person's posts of the UTC day "
    "(`discussion_daily_limit`) or the team's upload rate, posts included (`rate_limited`)."
)
LOGIN = "Not logged in: writing needs an account."
BODY_HELP = (
    "Markdown, at most DISCUSSION_POST_MAX_CHARS characters (20,000 by default; longer: 400 "
    "`post_too_long`)."
)


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(help_text="The author's username, under the name rules.")
    team = serializers.CharField(allow_null=True, help_text="The author's team when they posted.")
    by_organizers = serializers.BooleanField(help_text="Written by one of the organizers.")
    body_html = serializers.CharField(
        help_text="The sanitized HTML of the post's Markdown, rendered when it was saved; "
        "empty when the post is hidden (organizers still read it) or deleted."
    )
    created = serializers.DateTimeField()
    edited = serializers.DateTimeField(allow_null=True)
    is_answer = serializers.BooleanField()
    hidden = serializers.BooleanField()
    hidden_reason = serializers.CharField(allow_blank=True)
    deleted = serializers.BooleanField()


class ThreadSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    task = serializers.CharField(allow_null=True, help_text="The task's slug, when about one.")
    author = serializers.CharField()
    answered = serializers.BooleanField()
    locked = serializers.BooleanField()
    pinned = serializers.BooleanField()
    posts = serializers.IntegerField()
    created = serializers.DateTimeField()
    last_post = serializers.DateTimeField()


class ThreadPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ThreadSummarySerializer(many=True)


class ThreadSerializer(ThreadSummarySerializer):
    challenge = serializers.CharField()
    following = serializers.BooleanField(help_text="Whether the caller follows the thread.")
    posts = PostSerializer(many=True)  # type: ignore[assignment]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500, help_text="Why (shown, and kept in the audit log)."
    )


def _refused(exc: DiscussionRefused) -> Response:
    return refusal_response(exc)


def _thread(request: Request, thread) -> Response:
    return Response(
        ThreadSerializer(selectors.thread_document(thread=thread, user=request.user)).data
    )


def _post(post, *, code: int = status.HTTP_200_OK) -> Response:
    thread = post.thread
    doc = selectors.post_document(post=post, answer_id=thread.answer_id, organizer_reader=True)
    return Response(PostSerializer(doc).data, status=code)


class ThreadListQuerySerializer(serializers.Serializer):
    """The list's query (documented here; the paginator reads ``limit`` and ``offset``)."""

    limit = serializers.IntegerField(
        required=False, min_value=1, help_text="Threads per page (at most 1000)."
    )
    offset = serializers.IntegerField(required=False, min_value=0, help_text="Threads to skip.")
    task = serializers.CharField(
        required=False, allow_blank=True, help_text="Only the threads about this task (its slug)."
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=f"Only threads whose title or text holds this (case-insensitive; the first "
        f"{QUERY_MAX} characters).",
    )


class ThreadListApi(APIView):
    """A challenge's threads (GET: pinned first, then the latest active; public) and a new
    thread (POST: its first post is ``body``; its author follows it)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, allow_blank=True)
        body = serializers.CharField(
            allow_blank=True,
            help_text="Markdown (rendered by the platform's safe renderer), at most "
            "DISCUSSION_POST_MAX_CHARS characters (20,000 by default: 400 `post_too_long`).",
        )
        task = serializers.CharField(
            required=False,
            allow_null=True,
            allow_blank=True,
            max_length=100,
            help_text="The slug of the challenge's task the thread is about.",
        )

    @extend_schema(
        operation_id="thread_list",
        parameters=[ThreadListQuerySerializer],
        responses={200: ThreadPageSerializer},
    )
    def get(self, request: Request, slug: str) -> Response:
        challenge = get_object_or_404(Challenge, slug=slug)
        threads = selectors.thread_list(
            challenge=challenge,
            task_slug=request.query_params.get("task"),
            query=request.query_params.get("q"),
        )
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(threads, request, view=self)
        data = [selectors.thread_summary(thread=t) for t in page]
        return paginator.get_paginated_response(ThreadSummarySerializer(data, many=True).data)

    @extend_schema(
        operation_id="thread_create",
        request=InputSerializer,
        responses={
            201: ThreadSerializer,
            **error_responses(
                {
                    400: "Invalid: an empty or too long title or body (`title_invalid`, "
                    "`post_empty`, `post_too_long`), a task the challenge does not have "
                    "(`unknown_task`).",
                    401: LOGIN,
                    403: RULES,
                    429: BUDGET,
                }
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        if not request.user.is_authenticated:
            return Response({"detail": LOGIN, "code": "not_authenticated"}, status=401)
        challenge = get_object_or_404(Challenge, slug=slug)
        data = _valid(self.InputSerializer, request)
        try:
            thread = services.thread_create(
                challenge=challenge,
                user=request.user,
                title=data["title"],
                body=data["body"],
                task_slug=data.get("task") or None,
            )
        except DiscussionRefused as exc:
            return _refused(exc)
        response = _thread(request, thread)
        response.status_code = status.HTTP_201_CREATED
        return response


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ThreadDetailApi(APIView):
    """A thread and its posts, oldest first (public)."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="thread_detail", responses={200: ThreadSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return _thread(request, selectors.thread_get(pk=pk))


class ThreadPostCreateApi(APIView):
    """Reply in a thread; the author follows it and its followers hear of it."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(allow_blank=True, help_text=BODY_HELP)

    @extend_schema(
        operation_id="post_create",
        request=InputSerializer,
        responses={
            201: PostSerializer,
            **error_responses(
                {
                    400: "An empty or too long body (`post_empty`, `post_too_long`).",
                    403: RULES,
                    409: "The thread is locked (`thread_locked`).",
                    429: BUDGET,
                }
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        thread = selectors.thread_get(pk=pk)
        data = _valid(self.InputSerializer, request)
        try:
            post = services.post_create(thread=thread, user=request.user, body=data["body"])
        except DiscussionRefused as exc:
            return _refused(exc)
        return _post(post, code=status.HTTP_201_CREATED)


class PostEditApi(APIView):
    """The author's new text for their post, within the edit window."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(allow_blank=True, help_text=BODY_HELP)

    @extend_schema(
        operation_id="post_edit",
        request=InputSerializer,
        responses={
            200: PostSerializer,
            **error_responses(
                {
                    400: "An empty or too long body (`post_empty`, `post_too_long`).",
                    403: "Not the post's author (`not_author`), or " + RULES,
                    409: "Too late (`edit_window_closed`), the post is hidden "
                    "(`post_hidden`) or deleted (`post_deleted`), the thread is locked "
                    "(`thread_locked`).",
                    429: BUDGET,
                }
            ),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        post = selectors.post_get(pk=pk)
        data = _valid(self.InputSerializer, request)
        try:
            post = services.post_edit(post=post, user=request.user, body=data["body"])
        except DiscussionRefused as exc:
            return _refused(exc)
        return _post(post)


class PostDeleteApi(APIView):
    """The author deletes their post (readers no longer see its text; the organizers keep
    its history)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="post_delete",
        request=None,
        responses={
            200: PostSerializer,
            **error_responses(
                {
                    403: "Not the post's author (`not_author`).",
                    409: "Already deleted (`post_deleted`).",
                }
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        post = selectors.post_get(pk=pk)
        try:
            post = services.post_delete(post=post, user=request.user)
        except DiscussionRefused as exc:
            return _refused(exc)
        return _post(post)


class PostAnswerApi(APIView):
    """Mark a post as its thread's answer (the thread's author or an organizer); the
    thread's followers hear of it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="post_answer",
        request=None,
        responses={
            200: ThreadSerializer,
            **error_responses(
                {
                    403: "Neither the thread's author nor an organizer (`not_thread_author`), "
                    "or " + RULES,
                    409: "The post is hidden or deleted (`post_hidden`).",
                }
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        post = selectors.post_get(pk=pk)
        try:
            thread = services.answer_mark(post=post, user=request.user)
        except DiscussionRefused as exc:
            return _refused(exc)
        return _thread(request, thread)


MODERATION = {
    400: "No reason given (`reason_required`), or a malformed body.",
    403: "Only the organizers may (`organizers_only`).",
}


class PostHideApi(APIView):
    """Organizers: hide a post (readers see that it was hidden and why) or, with
    ``"hidden": false``, show it again; audited."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(ReasonSerializer):
        hidden = serializers.BooleanField(default=True)

    @extend_schema(
        operation_id="post_hide",
        request=InputSerializer,
        responses={200: PostSerializer, **error_responses(MODERATION)},
    )
    def post(self, request: Request, pk: int) -> Response:
        post = selectors.post_get(pk=pk)
        data = _valid(self.InputSerializer, request)
        try:
            post = services.post_hide(
                post=post, user=request.user, reason=data["reason"], hidden=data["hidden"]
            )
        except DiscussionRefused as exc:
            return _refused(exc)
        return _post(post)


def _thread_moderated(
    request: Request, pk: int, serializer: type, change: Callable[..., Thread], flag: str
) -> Response:
    """An organizer's audited change of one of thread ``pk``'s flags (``locked``,
    ``pinned``) by ``change``, with the body's reason; the thread as it is then."""
    thread = selectors.thread_get(pk=pk)
    data = _valid(serializer, request)
    try:
        thread = change(
            thread=thread, user=request.user, reason=data["reason"], **{flag: data[flag]}
        )
    except DiscussionRefused as exc:
        return _refused(exc)
    return _thread(request, thread)


class ThreadLockApi(APIView):
    """Organizers: lock a thread (new posts refused, 409 ``thread_locked``) or, with
    ``"locked": false``, open it again; audited."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(ReasonSerializer):
        locked = serializers.BooleanField(default=True)

    @extend_schema(
        operation_id="thread_lock",
        request=InputSerializer,
        responses={200: ThreadSerializer, **error_responses(MODERATION)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return _thread_moderated(request, pk, self.InputSerializer, services.thread_lock, "locked")


class ThreadPinApi(APIView):
    """Organizers: pin a thread at the top of the list or, with ``"pinned": false``, unpin
    it; audited."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(ReasonSerializer):
        pinned = serializers.BooleanField(default=True)

    @extend_schema(
        operation_id="thread_pin",
        request=InputSerializer,
        responses={200: ThreadSerializer, **error_responses(MODERATION)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return _thread_moderated(request, pk, self.InputSerializer, services.thread_pin, "pinned")


class ThreadFollowApi(APIView):
    """Follow a thread (hear of its replies, answer and organizers' posts by mail, as the
    notification settings allow) or, with ``"follow": false``, stop."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        follow = serializers.BooleanField(default=True)

    class OutputSerializer(serializers.Serializer):
        following = serializers.BooleanField()

    @extend_schema(
        operation_id="thread_follow",
        request=InputSerializer,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        thread = selectors.thread_get(pk=pk)
        data = _valid(self.InputSerializer, request)
        if data["follow"]:
            services.thread_follow(thread=thread, user=request.user)
        else:
            services.thread_unfollow(thread=thread, user=request.user)
        return Response({"following": data["follow"]})
