"""The bundle upload pages' one request flow (the console's import and replace pages, the
task owner's replace page): the size limit installed before the body is read, a declared
body over it refused unread, the CSRF check after, and the replace POST itself.

Views stay thin: they decide who may see the page and how to render it; this module decides
what a POST does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_protect

from .forms import BundleSizeLimitHandler, TaskReplaceForm, staged_upload, too_big_message
from .models import Task
from .services import TaskReplaced, TaskReplaceError, task_bundle_replace

logger = logging.getLogger(__name__)

# Multipart framing around the file; a request longer than the cap plus this is refused unread.
MULTIPART_SLACK = 64 * 1024


def bundle_upload_guarded(
    request: HttpRequest,
    *,
    refuse: Callable[[str], HttpResponse],
    view: Callable[[BundleSizeLimitHandler], HttpResponse],
) -> HttpResponse:
    """Install the bundle size limit, refuse (``refuse(message)``) a POST that declares a
    larger body before reading it, then run ``view(limit)`` behind the CSRF check (the views
    are ``csrf_exempt`` so that the limit comes first)."""
    limit = BundleSizeLimitHandler(request, limit=settings.BUNDLE_MAX_BYTES)
    if request.method == "POST":
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.BUNDLE_MAX_BYTES + MULTIPART_SLACK:
            return refuse(too_big_message(declared))
        request.upload_handlers.insert(0, limit)
    return csrf_protect(lambda req: view(limit))(request)


def task_replace_post(
    request: HttpRequest, *, task: Task, limit: BundleSizeLimitHandler, unexpected: str
) -> tuple[TaskReplaceForm, list[str], TaskReplaced | None]:
    """A replace form's POST: ``(form, problems, replaced)``; ``replaced`` is None when the
    page must be shown again with the form and its problems (``unexpected`` is the problem
    shown for a bug, which is logged)."""
    post, files = request.POST, request.FILES  # parse the body (the CSRF check may not have)
    if limit.too_big:  # the file was dropped while reading; keep what was typed
        return (
            TaskReplaceForm(initial={"reason": post.get("reason", "")}),
            [too_big_message()],
            None,
        )
    form = TaskReplaceForm(post, files)
    if not form.is_valid():
        return form, [], None
    try:
        with staged_upload(form.cleaned_data["bundle"]) as source:
            replaced = task_bundle_replace(
                task=task, source=source, actor=request.user, reason=form.cleaned_data["reason"]
            )
    except TaskReplaceError as exc:
        return form, list(exc.problems), None
    except Exception:  # a bug, not the bundle: logged; the person is told plainly
        logger.exception("replacing the data of %s failed", task.slug)
        return form, [unexpected], None
    return form, [], replaced
