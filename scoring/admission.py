"""Upload refusals before the body is read, for the web form and the API alike.

Django's CSRF check reads ``request.POST`` (the whole multipart body, spooled to disk) before
any view runs, and DRF's session authentication runs that check too. So a participant over
the daily limit, without a team, or announcing a body over the size cap would still make the
server receive the whole file before hearing "no". This middleware, placed before
``CsrfViewMiddleware``, asks :func:`scoring.services.upload.submission_admission_check` first for
the two submission routes when the caller is known by session, and the admission of the
task owner's upload APIs (a data version, a reference file: the team's upload budget,
``challenges.upload_budget``); a token caller is checked by the API view itself
before it touches ``request.data``. A refusal changes nothing, so answering it before the
CSRF check is safe. (The owner's data page checks the same before reading, itself:
``datasets.uploads.bundle_upload_guarded``.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from challenges.api.errors import refusal_parts as api_refusal_parts
from challenges.middleware import rules_redirect
from challenges.rules import RulesNotAccepted
from challenges.upload_budget import BUDGET_CODES
from datasets.models import Task
from datasets.version_uploads import VersionUploadRefused, task_version_upload_admission
from scoring.services.references import ReferenceRefused, reference_upload_admission
from scoring.services.upload import (
    ADMITTED,
    IDEMPOTENCY_KEY_HEADER,
    SubmissionRefused,
    submission_admission_check,
    upload_replay,
)
from scoring.views import submit_page_refused

WEB_ROUTE = "scoring:submit"
API_ROUTE = "api-submission-create"
# The task owner's upload APIs -> their admission (a refusal's status: 413, 429; any other
# refusal, such as not managing the task, is the view's to answer).
VERSION_API_ROUTE = "api-task-version-list"
REFERENCE_API_ROUTE = "api-task-reference-list"
OWNER_API_ROUTES = (VERSION_API_ROUTE, REFERENCE_API_ROUTE)


def declared_length(*, meta: Mapping[str, Any]) -> int | None:
    """The body size the client announced (``Content-Length``), None when it gave none."""
    try:
        value = int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


class UploadAdmissionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        routes = (WEB_ROUTE, API_ROUTE, *OWNER_API_ROUTES)
        if request.method != "POST" or match is None or match.view_name not in routes:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # anonymous or token: the view answers (without reading the body)
        if match.view_name in OWNER_API_ROUTES:
            return owner_upload_refusal(
                request=request, route=match.view_name, slug=view_kwargs.get("slug")
            )
        task = (
            Task.objects.select_related("track__challenge")
            .filter(slug=view_kwargs.get("slug"))
            .first()
        )
        if task is None:
            return None  # the view's own 404
        if match.view_name == API_ROUTE and _replayed(request, task):
            return None  # an upload sent again: the view answers what its first attempt made
        try:
            admission = submission_admission_check(
                task=task, user=user, declared_bytes=declared_length(meta=request.META)
            )
        except SubmissionRefused as exc:
            return self._refusal(request, match.view_name, task, exc)
        except RulesNotAccepted as exc:  # as the API's handler and the web's gate answer it
            if match.view_name == API_ROUTE:
                body = exc.as_json(request.build_absolute_uri(exc.rules_path))
                return JsonResponse(body, status=403)
            return rules_redirect(request=request, refusal=exc)
        setattr(request, ADMITTED, admission)  # the form's upload asks it once (issue 68)
        return None

    @staticmethod
    def _refusal(
        request: HttpRequest, route: str, task: Task, exc: SubmissionRefused
    ) -> HttpResponse:
        if route == API_ROUTE:
            body, headers = refusal_parts(exc=exc)
            return JsonResponse(body, status=exc.http_status, headers=headers)
        if exc.code in BUDGET_CODES:  # the form again, with the refusal and its status
            return submit_page_refused(request, task=task, refusal=exc)
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse(WEB_ROUTE, kwargs={"slug": task.slug}))


def _replayed(request: HttpRequest, task: Task) -> bool:
    """Does the API upload carry the ``Idempotency-Key`` of a submission already made? Then
    its answer is that submission, whatever the admission would say now (the first attempt may
    have taken the day's last slot). A malformed key or a key of another task: the view's
    refusal, before it reads the body."""
    try:
        _, replay = upload_replay(
            task=task, user=request.user, header=request.headers.get(IDEMPOTENCY_KEY_HEADER)
        )
    except SubmissionRefused:
        return True
    return replay is not None


def refusal_parts(*, exc: SubmissionRefused) -> tuple[dict[str, Any], dict[str, str]]:
    """The upload API's refusal body ``{"detail", "code", "retry_after"}`` and its headers:
    the API's one refusal shape (:func:`challenges.api.errors.refusal_parts`), whose
    ``retry_after`` the upload's documented refusal (``SubmissionRefusal``) always holds,
    null when waiting will not help."""
    body, headers = api_refusal_parts(exc)
    return {**body, "retry_after": body.get("retry_after")}, headers


def owner_upload_refusal(
    *, request: HttpRequest, route: str, slug: str | None
) -> HttpResponse | None:
    """A task owner's upload over the team's budget or the size cap (413, 429), answered as
    its API answers it, before the body is read; None: the view decides."""
    task = Task.objects.select_related("track__challenge", "owner_team").filter(slug=slug).first()
    if task is None:
        return None
    admit = (
        task_version_upload_admission if route == VERSION_API_ROUTE else reference_upload_admission
    )
    try:
        admit(task=task, user=request.user, declared_bytes=declared_length(meta=request.META))
    except (VersionUploadRefused, ReferenceRefused) as exc:
        status = exc.http_status if isinstance(exc, VersionUploadRefused) else exc.status
        if status not in (413, 429):
            return None
        body: dict[str, Any] = {"detail": str(exc), "code": exc.code}
        if isinstance(exc, VersionUploadRefused):
            body["problems"] = exc.problems
        headers = {}
        if exc.retry_after is not None:
            body["retry_after"] = exc.retry_after.isoformat()
            headers["Retry-After"] = str(exc.retry_seconds())
        return JsonResponse(body, status=status, headers=headers)
    except RulesNotAccepted:
        return None  # the view's own answer
    return None
