"""Organizer console for the baselines: runs, their live log, artifacts and actions.

Everything is read-only except through the actions, which call the services: "Run baseline
again", "Cancel", and a page to queue baselines for selected tasks. Artifacts (AutoGluon's
model leaderboard and the fit log) live in private storage and are streamed to organizers
only, through the admin's own login and permission checks.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from challenge_platform.console import ReadOnlyAdminMixin
from datasets.models import Task

from . import selectors, services
from .models import BaselineRun, BaselineRunStatus


class BaselineQueueForm(forms.Form):
    tasks = forms.ModelMultipleChoiceField(
        queryset=Task.objects.select_related("track").order_by("track__order", "order", "slug"),
        widget=forms.CheckboxSelectMultiple,
    )
    presets = forms.ChoiceField(choices=[(p, p) for p in services.PRESETS])
    time_limit = forms.IntegerField(
        min_value=1, help_text="AutoGluon's fit budget per task, in seconds."
    )
    skip_succeeded = forms.BooleanField(
        required=False,
        initial=True,
        label="Skip tasks whose baseline already succeeded",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tasks"].label_from_instance = lambda t: f"{t.slug}: {t.title} ({t.kind})"
        self.fields["presets"].initial = settings.BASELINE_PRESETS
        self.fields["time_limit"].initial = settings.BASELINE_TIME_LIMIT


@admin.register(BaselineRun)
class BaselineRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "task",
        "status",
        "elapsed_seconds",
        "validation_score",
        "baseline_score",
        "presets",
        "time_limit",
        "created_at",
    )
    list_display_links = ("id", "task")
    list_filter = ("status", "task__track__challenge", "task")
    search_fields = ("task__slug", "task__title", "message")
    list_select_related = ("task", "submission")
    date_hierarchy = "created_at"
    change_form_template = "baselines/admin/baselinerun_change_form.html"
    change_list_template = "baselines/admin/baselinerun_change_list.html"
    actions = ("run_again", "cancel")
    fieldsets = (
        (None, {"fields": ("task", "status", "message", "cancel_requested")}),
        (
            "Result",
            {
                "fields": (
                    "validation_score",
                    "best_model",
                    "submission_link",
                    "artifacts",
                    "elapsed",
                )
            },
        ),
        ("Budget", {"fields": ("presets", "time_limit", "hard_timeout")}),
        (
            "Timeline and worker",
            {
                "fields": (
                    "created_at",
                    "started_at",
                    "heartbeat_at",
                    "finished_at",
                    "worker_hostname",
                    "worker_pid",
                    "runner_pid",
                )
            },
        ),
        ("result.json", {"fields": ("result",), "classes": ("collapse",)}),
    )

    # --- read-only records; changes only through the actions -----------------------------

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Queue, cancel and re-run baselines (the organizer's change permission)."""
        return request.user.has_perm("baselines.change_baselinerun")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [name for _, options in self.fieldsets for name in options["fields"]]

    # --- columns --------------------------------------------------------------------------

    @admin.display(description="elapsed", ordering="elapsed")
    def elapsed_seconds(self, run: BaselineRun) -> str:
        return "-" if run.elapsed is None else f"{run.elapsed:.0f} s"

    @admin.display(description="score (public)")
    def baseline_score(self, run: BaselineRun) -> str:
        submission = run.submission
        if submission is None:
            return "-"
        if submission.public_score is None:
            return submission.get_status_display().lower()
        return f"{submission.public_score:.4f}"

    @admin.display(description="submission")
    def submission_link(self, run: BaselineRun) -> str:
        submission = run.submission
        if submission is None:
            return "-"
        url = reverse("admin:scoring_submission_change", args=[submission.pk])
        return format_html(
            '<a href="{}">#{}</a> ({})', url, submission.pk, submission.get_status_display()
        )

    @admin.display(description="artifacts")
    def artifacts(self, run: BaselineRun) -> str:
        links = [
            (reverse("admin:baselines_baselinerun_artifact", args=[run.pk, name]), name)
            for name in selectors.ARTIFACTS
            if selectors.baseline_run_artifact(run=run, name=name) is not None
        ]
        if not links:
            return "-"
        return format_html_join(" · ", '<a href="{}" download>{}</a>', links)

    # --- actions ---------------------------------------------------------------------------

    @admin.action(description="Run baseline again", permissions=["operate"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[BaselineRun]) -> None:
        for run in queryset.select_related("task"):
            self._run_again(request, run)

    @admin.action(description="Cancel", permissions=["operate"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[BaselineRun]) -> None:
        for run in queryset.select_related("task"):
            self._cancel(request, run)

    def _run_again(self, request: HttpRequest, run: BaselineRun) -> None:
        try:
            new = services.baseline_run_again(run=run, actor=request.user)
        except services.BaselineRunRefused as exc:
            self.message_user(request, exc.message, messages.WARNING)
        else:
            self.message_user(
                request, f"Queued run #{new.pk} for {run.task.slug}.", messages.SUCCESS
            )

    def _cancel(self, request: HttpRequest, run: BaselineRun) -> None:
        try:
            run = services.baseline_run_cancel(run=run, actor=request.user)
        except services.BaselineRunRefused as exc:
            self.message_user(request, exc.message, messages.WARNING)
            return
        if run.status == BaselineRunStatus.CANCELLED:
            text = f"Run #{run.pk} ({run.task.slug}) is cancelled."
        else:
            text = f"Run #{run.pk} ({run.task.slug}) will stop within a few seconds."
        self.message_user(request, text, messages.SUCCESS)

    # --- extra views -------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_view), name="baselines_baselinerun_queue"),
            path("<int:pk>/tail/", wrap(self.tail_view), name="baselines_baselinerun_tail"),
            path(
                "<int:pk>/artifact/<str:name>/",
                wrap(self.artifact_view),
                name="baselines_baselinerun_artifact",
            ),
            path(
                "<int:pk>/cancel/",
                wrap(require_POST(self.cancel_view)),
                name="baselines_baselinerun_cancel",
            ),
            path(
                "<int:pk>/again/",
                wrap(require_POST(self.again_view)),
                name="baselines_baselinerun_again",
            ),
            *super().get_urls(),
        ]

    def _run_or_404(self, request: HttpRequest, pk: int) -> BaselineRun:
        run = get_object_or_404(selectors.baseline_run_list(), pk=pk)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        return run

    def tail_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The live part of the detail page, polled every 3 s while the run is active."""
        run = self._run_or_404(request, pk)
        return JsonResponse(
            {
                "status": run.status,
                "status_display": run.get_status_display(),
                "active": run.is_active,
                "message": run.message,
                "log_tail": run.log_tail,
                "elapsed": run.elapsed,
                "cancel_requested": run.cancel_requested,
            }
        )

    def artifact_view(self, request: HttpRequest, pk: int, name: str) -> FileResponse:
        run = self._run_or_404(request, pk)
        stored = selectors.baseline_run_artifact(run=run, name=name)
        if stored is None:
            raise Http404("no such artifact")
        handle = stored.storage.open(stored.name, "rb")
        download = f"{run.task.slug}-run{run.pk}-{name}"
        return FileResponse(handle, as_attachment=True, filename=download)

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run_or_404(request, pk)
        if not self.has_operate_permission(request):
            raise PermissionDenied
        self._cancel(request, run)
        return redirect("admin:baselines_baselinerun_change", run.pk)

    def again_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run_or_404(request, pk)
        if not self.has_operate_permission(request):
            raise PermissionDenied
        self._run_again(request, run)
        return redirect("admin:baselines_baselinerun_changelist")

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        """Queue baselines for the tasks the organizer ticks."""
        if not self.has_operate_permission(request):
            raise PermissionDenied
        form = BaselineQueueForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                report = services.baselines_queue(
                    tasks=data["tasks"],
                    presets=data["presets"],
                    time_limit=data["time_limit"],
                    skip_succeeded=data["skip_succeeded"],
                    actor=request.user,
                )
            except services.BaselineRunRefused as exc:
                form.add_error("time_limit", exc.message)
            else:
                for run in report.queued:
                    messages.success(request, f"Queued run #{run.pk} for {run.task.slug}.")
                for task, reason in report.skipped:
                    messages.warning(request, f"Skipped {task.slug}: {reason}")
                return redirect("admin:baselines_baselinerun_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Queue baselines for tasks",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "baselines/admin/queue.html", context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_operate": self.has_operate_permission(request),
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_operate": self.has_operate_permission(request),
        }
        return super().changelist_view(request, extra_context)
