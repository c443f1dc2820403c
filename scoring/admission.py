"""Upload refusals before the body is read, for the web form and the API alike.

Django's CSRF check reads ``request.POST`` (the whole multipart body, spooled to disk) before
any view runs, and DRF's session authentication runs that check too. So a participant over
the daily limit, without a team, or announcing a body over the size cap would still make the
server receive the whole file before hearing "no". This middleware, placed before
``CsrfViewMiddleware``, asks :func:`scoring.services.submission_admission_check` first for
the two upload routes when the caller is known by session; a token caller is checked by
the API view itself before it touches ``request.data``. A refusal changes nothing, so
answering it before the CSRF check is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from challenge_platform.api.errors import refusal_parts as api_refusal_parts
from challenge_platform.middleware import rules_redirect
from challenge_platform.rules import RulesNotAccepted
from challenge_platform.upload_budget import BUDGET_CODES
from datasets.models import Task
from scoring.services import SubmissionRefused, submission_admission_check
from scoring.views import submit_page_refused

WEB_ROUTE = "scoring:submit"
API_ROUTE = "api-submission-create"


def declared_length(meta: Mapping[str, Any]) -> int | None:
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
        if (
            request.method != "POST"
            or match is None
            or match.view_name
            not in (
                WEB_ROUTE,
                API_ROUTE,
            )
        ):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # anonymous or token: the view answers (without reading the body)
        task = (
            Task.objects.select_related("track__challenge")
            .filter(slug=view_kwargs.get("slug"))
            .first()
        )
        if task is None:
            return None  # the view's own 404
        try:
            submission_admission_check(
                task=task, user=user, declared_bytes=declared_length(request.META)
            )
        except SubmissionRefused as exc:
            return self._refusal(request, match.view_name, task, exc)
        except RulesNotAccepted as exc:  # as the API's handler and the web's gate answer it
            if match.view_name == API_ROUTE:
                body = exc.as_json(request.build_absolute_uri(exc.rules_path))
                return JsonResponse(body, status=403)
            return rules_redirect(request, exc)
        return None

    @staticmethod
    def _refusal(
        request: HttpRequest, route: str, task: Task, exc: SubmissionRefused
    ) -> HttpResponse:
        if route == API_ROUTE:
            body, headers = refusal_parts(exc)
            return JsonResponse(body, status=exc.http_status, headers=headers)
        if exc.code in BUDGET_CODES:  # the form again, with the refusal and its status
            return submit_page_refused(request, task=task, refusal=exc)
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse(WEB_ROUTE, kwargs={"slug": task.slug}))


def refusal_parts(exc: SubmissionRefused) -> tuple[dict[str, Any], dict[str, str]]:
    """The upload API's refusal body ``{"detail", "code", "retry_after"}`` and its headers:
    the API's one refusal shape (:func:`challenge_platform.api.errors.refusal_parts`), whose
    ``retry_after`` the upload's documented refusal (``SubmissionRefusal``) always holds,
    null when waiting will not help."""
    body, headers = api_refusal_parts(exc)
    return {**body, "retry_after": body.get("retry_after")}, headers
