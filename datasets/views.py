"""Web pages of the datasets app: access-controlled file downloads (the task page itself is
composed in ``leaderboard.task_page``, which knows its submit panel and board)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from challenges.rules import rules_gate
from challenges.selectors import is_organizer
from datasets.downloads import ranged_file_response
from datasets.models import Task
from datasets.phase_versions import PhaseNotStarted, version_asked
from datasets.selectors import SOLUTION_FILE, task_file_get, task_get_or_404
from datasets.versions import version_file

__all__ = ["task_file", "task_file_response"]


def task_file_response(
    request: HttpRequest, *, task: Task, name: str, stored: FieldFile
) -> HttpResponse:
    """Stream ``stored`` as an attachment named ``<slug>-<name>``, never read into memory;
    ``Range`` requests get the asked bytes (206), so an interrupted download resumes."""
    return ranged_file_response(
        request=request, storage=stored.storage, name=stored.name, filename=f"{task.slug}-{name}"
    )


def task_file(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """A task's file for logged-in users; the solution for organizers, a 404 for the rest."""
    organizer = is_organizer(user=request.user)
    if name == SOLUTION_FILE and not organizer:
        raise Http404("no such file")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    task = task_get_or_404(slug=slug)
    try:  # ?version=N, ?phase=<slug>: a phase's data is refused before its start
        version = version_asked(
            task=task,
            user=request.user,
            number=request.GET.get("version"),
            phase_slug=request.GET.get("phase"),
        )
    except PhaseNotStarted as exc:
        return JsonResponse({"detail": exc.message, "code": exc.code}, status=exc.http_status)
    if version is not None and version.number != task.data_version:
        found = version_file(version=version, name=name)
        if found is None:
            raise Http404("no such file")
        rules_gate(challenge=task.track.challenge, user=request.user)
        return ranged_file_response(
            request=request,
            storage=found.storage,
            name=found.name,
            filename=f"{task.slug}-v{version.number}-{name}",
        )
    stored = task_file_get(task=task, name=name, organizer=organizer)
    if stored is None:
        raise Http404("no such file")
    rules_gate(challenge=task.track.challenge, user=request.user)  # else: the rules page
    return task_file_response(request, task=task, name=name, stored=stored)
