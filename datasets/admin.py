"""Organizer console for the datasets app: tasks, and importing a bundle from the browser."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt

from challenges.console import AuditedChangeMixin
from kinds.stress import StressRefused

from .forms import (
    BundleSizeLimitHandler,
    TaskImportForm,
    TaskReplaceForm,
    TaskStressForm,
    staged_upload,
    too_big_message,
)
from .models import Task, TaskVersion
from .selectors import task_file_names
from .services import TaskImportError, task_import
from .stress import task_stress_choices, task_stress_current, task_stress_set
from .uploads import bundle_upload_guarded, stage_phases, task_replace_post
from .version_uploads import task_version_uploads_recent, version_upload_message

logger = logging.getLogger(__name__)

# Multipart framing around the file; a request longer than the cap plus this is refused unread.


@admin.register(Task)
class TaskAdmin(AuditedChangeMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "slug",
        "kind",
        "track",
        "owner_team",
        "train_rows",
        "test_rows",
        "primary_metric",
    )
    raw_id_fields = ("owner_team",)
    list_filter = ("kind", "track__challenge", "track")
    search_fields = ("title", "slug")
    change_list_template = "datasets/admin/task_change_list.html"
    change_form_template = "datasets/admin/task_change_form.html"
    # What the bundle defines stays as imported; organizers edit the presentation only.
    readonly_fields = (
        "slug",
        "kind",
        "columns",
        "classes",
        "primary_metric",
        "public_fraction",
        "split_seed",
        "train_rows",
        "test_rows",
        "data_version",
        "versions",
        "uploads",
        "downloads",
        "card",
        "meta",
        "created_at",
        # Set under Leaderboard, "Public board modes" (audited, the board rebuilt with it).
        "public_board",
        "ladder_bootstraps",
        "ladder_bayes_factor",
    )

    # The file fields are left out: as read-only fields they would link to storage URLs,
    # and MEDIA is never served. ``downloads`` links to the access-controlled views instead.
    exclude = ("train_csv", "train_parquet", "test_csv", "test_parquet", "images_zip", "solution")

    @admin.display(description="Files")
    def downloads(self, task: Task) -> str:
        links = [
            format_html(
                '<a href="{}">{}</a>',
                reverse("datasets:task-file", kwargs={"slug": task.slug, "name": name}),
                name,
            )
            for name in task_file_names(task=task, include_solution=True)
        ]
        return format_html_join(" · ", "{}", ((link,) for link in links))

    @admin.display(description="Data uploads")
    def uploads(self, task: Task) -> str:
        """The newest uploaded data versions and where each one's check stands (a refused
        one with every problem)."""
        rows = task_version_uploads_recent(task=task)
        if not rows:
            return "—"
        items = []
        for u in rows:
            problems = ""
            if u.problems:
                problems = format_html(
                    '<ul class="errorlist bundle-problems">{}</ul>',
                    format_html_join("", "<li>{}</li>", ((p,) for p in u.problems)),
                )
            items.append(
                format_html(
                    '<div data-upload="{}" data-status="{}">#{} · {} UTC · {} · {} · {}{}</div>',
                    u.pk,
                    u.status,
                    u.pk,
                    u.created_at.strftime("%Y-%m-%d %H:%M"),
                    u.created_by.get_username() if u.created_by else "system",
                    u.status,
                    version_upload_message(upload=u),
                    problems,
                )
            )
        return format_html_join("", "{}", ((item,) for item in items))

    @admin.display(description="Data versions")
    def versions(self, task: Task) -> str:
        rows = TaskVersion.objects.filter(task=task).select_related("created_by", "phase")[:20]
        return format_html_join(
            mark_safe("<br>"),
            "v{} · {} UTC · {} · {} train / {} test rows · {}{}{}",
            (
                (
                    v.number,
                    v.created_at.strftime("%Y-%m-%d %H:%M"),
                    v.created_by.get_username() if v.created_by else "system",
                    f"{v.train_rows:,}",
                    f"{v.test_rows:,}",
                    v.note or "—",
                    " · files pruned" if v.pruned_at else "",
                    _phase_note(v),
                )
                for v in rows
            ),
        )

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """A task only enters through a validated bundle: "Add" opens the import form."""
        return HttpResponseRedirect(reverse("admin:datasets_task_import"))

    def get_urls(self):
        # CSRF is checked inside the view, after the upload size limit is installed: Django
        # reads the body when it checks the token, and handlers can't change after that.
        view = self.admin_site.admin_view(csrf_exempt(self.import_view))
        replace = self.admin_site.admin_view(csrf_exempt(self.replace_view))
        return [
            path("import/", view, name="datasets_task_import"),
            path("<int:object_id>/replace/", replace, name="datasets_task_replace"),
            path(
                "<int:object_id>/stress/",
                self.admin_site.admin_view(self.stress_view),
                name="datasets_task_stress",
            ),
            *super().get_urls(),
        ]

    def stress_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The task's stress families (docs/organizers/stress.md): which apply, and the organizer's
        choice of families, strengths and shares."""
        task = self.get_object(request, str(object_id))
        if task is None:
            raise Http404("no such task")
        if not self.has_change_permission(request, task):
            raise PermissionDenied
        problems: list[str] = []
        form = TaskStressForm(request.POST or None, task=task)
        if request.method == "POST" and form.is_valid():
            try:
                plan = task_stress_set(
                    task=task, stress=form.cleaned_data["stress"], actor=request.user
                )
            except StressRefused as refused:
                problems = refused.problems
            else:
                names = ", ".join(p.family for p in plan) or "none (stress runs off)"
                messages.success(request, f"{task.slug}: stress families {names}.")
                return HttpResponseRedirect(reverse("admin:datasets_task_change", args=[task.pk]))
        stored, plan = task_stress_current(task=task)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Stress families of {task.title}",
            "opts": self.model._meta,
            "original": task,
            "form": form,
            "problems": problems,
            "choices": task_stress_choices(task=task),
            "defaults": stored is None,
            "plan": plan,
        }
        return TemplateResponse(request, "datasets/admin/task_stress.html", context)

    def replace_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Replace the data with a new bundle (.zip): the form, every problem, or the result."""
        task = self.get_object(request, str(object_id))
        if task is None:
            raise Http404("no such task")
        if not self.has_change_permission(request, task):
            raise PermissionDenied
        return bundle_upload_guarded(
            request=request,
            refuse=lambda message: self._render_replace(
                request, task, TaskReplaceForm(phases=stage_phases(task=task)), [message]
            ),
            view=lambda limit: self._replace(request, task, limit),
        )

    def _replace(
        self, request: HttpRequest, task: Task, limit: BundleSizeLimitHandler
    ) -> HttpResponse:
        if request.method != "POST":
            return self._render_replace(
                request, task, TaskReplaceForm(phases=stage_phases(task=task)), []
            )
        posted = task_replace_post(
            request=request,
            task=task,
            limit=limit,
            phases=stage_phases(task=task),
            unexpected="The upload failed on an unexpected error (it is in the server log);"
            " nothing was changed. Try `manage.py replace_task_bundle` for the details.",
        )
        if posted.upload is None:
            return self._render_replace(request, task, posted.form, posted.problems)
        messages.success(
            request,
            f"{task.slug}: {version_upload_message(upload=posted.upload)} Its check is listed under"
            " “Data uploads” below.",
        )
        return HttpResponseRedirect(reverse("admin:datasets_task_change", args=[task.pk]))

    def _render_replace(
        self, request: HttpRequest, task: Task, form: TaskReplaceForm, problems: list[str]
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"Replace the data of {task.title}",
            "opts": self.model._meta,
            "original": task,
            "form": form,
            "problems": problems,
            "max_bytes": settings.BUNDLE_MAX_BYTES,
        }
        return TemplateResponse(request, "datasets/admin/task_replace.html", context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return bundle_upload_guarded(
            request=request,
            refuse=lambda message: self._render_import(request, TaskImportForm(), [message]),
            view=lambda limit: self._import(request, limit),
        )

    def _import(self, request: HttpRequest, limit: BundleSizeLimitHandler) -> HttpResponse:
        if request.method != "POST":
            return self._render_import(request, TaskImportForm(), [])
        post, files = request.POST, request.FILES  # parse the body (the CSRF check may not have)
        if limit.too_big:  # the file was dropped while reading; keep what was typed
            form = TaskImportForm(initial=post.dict())
            return self._render_import(request, form, [too_big_message()])
        form = TaskImportForm(post, files)
        if not form.is_valid():
            return self._render_import(request, form, [])
        data = form.cleaned_data
        upload = data["bundle"]
        with staged_upload(upload) as source:  # the organizer's file name: problems quote it
            try:
                task = task_import(
                    source=source,
                    challenge_slug=data["challenge_slug"],
                    track_slug=data["track_slug"],
                    challenge_title=data.get("challenge_title") or None,
                    track_title=data.get("track_title") or None,
                    actor=request.user,
                    leak_probe=data.get("leak_probe") or "",
                )
            except TaskImportError as exc:
                return self._render_import(request, form, exc.problems)
            except Exception:  # a bug, not the bundle: log it, tell the organizer plainly
                logger.exception("importing %s failed", upload.name)
                return self._render_import(
                    request,
                    form,
                    [
                        "The import failed on an unexpected error (it is in the server log);"
                        " nothing was stored. Try `manage.py import_task` for the details."
                    ],
                )
        page = reverse("datasets:task-detail", kwargs={"slug": task.slug})
        messages.success(
            request,
            format_html(
                'Imported the task <a href="{}">{}</a> ({}, {} train and {} test rows).',
                page,
                task.title,
                task.get_kind_display(),
                f"{task.train_rows:,}",
                f"{task.test_rows:,}",
            ),
        )
        for warning in getattr(task, "import_warnings", ()):
            messages.warning(request, f"{task.slug}: {warning}")
        return HttpResponseRedirect(reverse("admin:datasets_task_changelist"))

    def _render_import(
        self, request: HttpRequest, form: TaskImportForm, problems: list[str]
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a task bundle",
            "opts": self.model._meta,
            "form": form,
            "problems": problems,
            "max_bytes": settings.BUNDLE_MAX_BYTES,
        }
        return TemplateResponse(request, "datasets/admin/task_import.html", context)


def _phase_note(version: TaskVersion) -> str:
    """A phase's own version: staged (until its start) or released."""
    if version.phase_id is None:
        return ""
    if version.released_at is None:
        return f" · staged for the phase '{version.phase.slug}' (released at its start)"
    return f" · the phase '{version.phase.slug}''s own data"
