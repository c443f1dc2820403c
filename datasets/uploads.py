"""The bundle upload pages' one request flow (the console's import and replace pages, the
task owner's replace page): the size limit installed before the body is read, a declared
body over it refused unread, the uploader's budget asked before the body is read too, the
CSRF check after, and the replace POST itself: the bundle stored and its check queued
(``datasets.version_uploads``).

Views stay thin: they decide who may see the page and how to render it; this module decides
what a POST does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_protect

from challenges.models import Phase

from .forms import BundleSizeLimitHandler, TaskReplaceForm, too_big_message
from .models import Task, TaskVersionUpload
from .phase_versions import phase_started
from .version_uploads import VersionUploadRefused, task_version_upload_create

logger = logging.getLogger(__name__)

# Multipart framing around the file; a request longer than the cap plus this is refused unread.
MULTIPART_SLACK = 64 * 1024


def bundle_upload_guarded(
    *, request: HttpRequest,
    refuse: Callable[[str], HttpResponse],
    view: Callable[[BundleSizeLimitHandler], HttpResponse],
    admit: Callable[[int], object] | None = None,
    refused: Callable[[VersionUploadRefused], HttpResponse] | None = None,
) -> HttpResponse:
    """Install the bundle size limit, refuse (``refuse(message)``) a POST that declares a
    larger body before reading it, ask ``admit(declared_bytes)`` (the uploader's budget: a
    :class:`~datasets.version_uploads.VersionUploadRefused` is answered by
    ``refused(refusal)``, still unread), then run ``view(limit)`` behind the CSRF check (the
    views are ``csrf_exempt`` so that the limit comes first)."""
    limit = BundleSizeLimitHandler(request, limit=settings.BUNDLE_MAX_BYTES)
    if request.method == "POST":
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.BUNDLE_MAX_BYTES + MULTIPART_SLACK:
            return refuse(too_big_message(declared))
        if admit is not None and refused is not None and request.user.is_authenticated:
            try:
                admit(declared)
            except VersionUploadRefused as exc:
                return refused(exc)
        request.upload_handlers.insert(0, limit)
    return csrf_protect(lambda req: view(limit))(request)


@dataclass(frozen=True)
class ReplacePost:
    """What a replace form's POST did: the upload queued for its check, or the form again
    with its problems (``refused``: the refusal, with the status to answer)."""

    form: TaskReplaceForm
    problems: list[str]
    upload: TaskVersionUpload | None = None
    refused: VersionUploadRefused | None = None


def stage_phases(*, task: Task) -> list[tuple[str, str]]:
    """The phases a bundle of ``task`` may be staged for: its challenge's that have not
    started (``datasets.phase_versions``), when it has several."""
    phases = list(Phase.objects.filter(challenge_id=task.track.challenge_id).order_by("start"))
    if len(phases) < 2:
        return []
    return [(p.slug, p.title) for p in phases if not phase_started(phase=p)]


def task_replace_post(
    *, request: HttpRequest,
    task: Task,
    limit: BundleSizeLimitHandler,
    unexpected: str,
    phases: list[tuple[str, str]] | None = None,
) -> ReplacePost:
    """A replace form's POST: the bundle stored and its check queued, or the page must be
    shown again with the form and its problems (``unexpected`` is the problem shown for a
    bug, which is logged). ``phases``: the form offers staging for one of them."""
    post, files = request.POST, request.FILES  # parse the body (the CSRF check may not have)
    if limit.too_big:  # the file was dropped while reading; keep what was typed
        form = TaskReplaceForm(initial={"reason": post.get("reason", "")}, phases=phases)
        return ReplacePost(form, [too_big_message()])
    form = TaskReplaceForm(post, files, phases=phases)
    if not form.is_valid():
        return ReplacePost(form, [])
    try:
        upload = task_version_upload_create(
            task=task,
            user=request.user,
            file=form.cleaned_data["bundle"],
            reason=form.cleaned_data["reason"],
            phase=Phase.objects.filter(
                challenge_id=task.track.challenge_id, slug=form.cleaned_data.get("phase") or ""
            ).first(),
        )
    except VersionUploadRefused as exc:
        return ReplacePost(form, list(exc.problems), refused=exc)
    except Exception:  # a bug, not the bundle: logged; the person is told plainly
        logger.exception("storing a new data version of %s failed", task.slug)
        return ReplacePost(form, [unexpected])
    return ReplacePost(form, [], upload=upload)
