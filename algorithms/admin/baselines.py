"""Organizer console for the baselines: runs, their live log, artifacts and actions.

The list is :class:`~algorithms.models.BaselineRun`, a view of the algorithm runs of the
baseline profile. Everything is read-only except through the actions, which call the
services: "Run baseline again", "Cancel" (the one cancel of every run), and a page to queue
baselines for selected tasks. Artifacts (AutoGluon's model leaderboard and the fit log) live
in private storage and are streamed to organizers only, through the admin's own login and
permission checks.
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

from algorithms import selectors
from algorithms.models import AlgorithmRun, AlgorithmRunStatus, BaselineRun
from algorithms.services.baseline import (
    PRESETS,
    BaselineRunRefused,
    baseline_run_again,
    baselines_queue,
)
from algorithms.services.common import AlgorithmRefused
from algorithms.services.profiles import BASELINE
from algorithms.services.runs import algorithm_run_cancel
from challenges.console import ReadOnlyAdminMixin
from common.numbers import number_text
from datasets.models import Task


class BaselineQueueForm(forms.Form):
    tasks = forms.ModelMultipleChoiceField(
        queryset=Task.objects.select_related("track").order_by("track__order", "order", "slug"),
        widget=forms.CheckboxSelectMultiple,
    )
    presets = forms.ChoiceField(choices=[(p, p) for p in PRESETS])
    time_limit = forms.IntegerField(
        min_value=1,
        help_text="Safety limit per task, in seconds: a baseline not finished by then fails"
        " (its work is fixed; it never fits less to finish in time).",
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
    search_fields = ("task__slug", "task__title", "error")
    list_select_related = ("task", "submission", "version__algorithm")
    date_hierarchy = "created_at"
    change_form_template = "algorithms/admin/baselinerun_change_form.html"
    change_list_template = "algorithms/admin/baselinerun_change_list.html"
    actions = ("run_again", "cancel")
    fieldsets = (
        (None, {"fields": ("task", "status", "message", "cancel_requested", "version")}),
        (
            "Result",
            {
                "fields": (
                    "validation_score",
                    "best_model",
                    "submission_link",
                    "artifacts_links",
                    "elapsed_seconds",
                    "limit_hit",
                )
            },
        ),
        ("Budget", {"fields": ("presets", "time_limit", "hard_timeout", "limits")}),
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
                    "cpu_seconds",
                    "peak_memory_mb",
                )
            },
        ),
        ("result.json", {"fields": ("result",), "classes": ("collapse",)}),
    )

    # --- read-only records; changes only through the actions -----------------------------

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Queue, cancel and re-run baselines (the organizer's change permission)."""
        return request.user.has_perm("algorithms.change_baselinerun")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [name for _, options in self.fieldsets for name in options["fields"]]

    # --- columns --------------------------------------------------------------------------

    @admin.display(description="message")
    def message(self, run: AlgorithmRun) -> str:
        return selectors.run_summary(run=run)

    @admin.display(description="elapsed", ordering="seconds")
    def elapsed_seconds(self, run: AlgorithmRun) -> str:
        return "-" if run.seconds is None else f"{run.seconds:.0f} s"

    @admin.display(description="validation score")
    def validation_score(self, run: AlgorithmRun) -> str:
        score = (run.result or {}).get("validation_score")
        return number_text(score) if isinstance(score, int | float) else "-"

    @admin.display(description="best model")
    def best_model(self, run: AlgorithmRun) -> str:
        return str((run.result or {}).get("best_model") or "-")

    @admin.display(description="presets")
    def presets(self, run: AlgorithmRun) -> str:
        return str((run.options or {}).get("presets") or "-")

    @admin.display(description="time limit")
    def time_limit(self, run: AlgorithmRun) -> str:
        value = (run.options or {}).get("time_limit")
        return "-" if value is None else f"{value} s"

    @admin.display(description="hard timeout")
    def hard_timeout(self, run: AlgorithmRun) -> str:
        value = (run.limits or {}).get("wall_seconds")
        return "-" if value is None else f"{value} s"

    @admin.display(description="score (public)")
    def baseline_score(self, run: AlgorithmRun) -> str:
        submission = run.submission
        if submission is None:
            return "-"
        if submission.public_score is None:
            return submission.get_status_display().lower()
        return number_text(submission.public_score)

    @admin.display(description="submission")
    def submission_link(self, run: AlgorithmRun) -> str:
        submission = run.submission
        if submission is None:
            return "-"
        url = reverse("admin:scoring_submission_change", args=[submission.pk])
        return format_html(
            '<a href="{}">#{}</a> ({})', url, submission.pk, submission.get_status_display()
        )

    @admin.display(description="artifacts")
    def artifacts_links(self, run: AlgorithmRun) -> str:
        links = [
            (reverse("admin:algorithms_baselinerun_artifact", args=[run.pk, name]), name)
            for name in BASELINE.keep
            if selectors.run_artifact(run=run, name=name) is not None
        ]
        if not links:
            return "-"
        return format_html_join(" · ", '<a href="{}" download>{}</a>', links)

    # --- actions ---------------------------------------------------------------------------

    @admin.action(description="Run baseline again", permissions=["operate"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[AlgorithmRun]) -> None:
        for run in queryset.select_related("task"):
            self._run_again(request, run)

    @admin.action(description="Cancel", permissions=["operate"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[AlgorithmRun]) -> None:
        for run in queryset.select_related("task"):
            self._cancel(request, run)

    def _run_again(self, request: HttpRequest, run: AlgorithmRun) -> None:
        try:
            new = baseline_run_again(run=run, actor=request.user)
        except BaselineRunRefused as exc:
            self.message_user(request, exc.message, messages.WARNING)
        else:
            self.message_user(
                request, f"Queued run #{new.pk} for {run.task.slug}.", messages.SUCCESS
            )

    def _cancel(self, request: HttpRequest, run: AlgorithmRun) -> None:
        try:
            run = algorithm_run_cancel(run=run, actor=request.user)
        except AlgorithmRefused as exc:
            self.message_user(request, exc.message, messages.WARNING)
            return
        if run.status == AlgorithmRunStatus.CANCELLED:
            text = f"Run #{run.pk} ({run.task.slug}) is cancelled."
        else:
            text = f"Run #{run.pk} ({run.task.slug}) will stop within a few seconds."
        self.message_user(request, text, messages.SUCCESS)

    # --- extra views -------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_view), name="algorithms_baselinerun_queue"),
            path("<int:pk>/tail/", wrap(self.tail_view), name="algorithms_baselinerun_tail"),
            path(
                "<int:pk>/artifact/<str:name>/",
                wrap(self.artifact_view),
                name="algorithms_baselinerun_artifact",
            ),
            path(
                "<int:pk>/cancel/",
                wrap(require_POST(self.cancel_view)),
                name="algorithms_baselinerun_cancel",
            ),
            path(
                "<int:pk>/again/",
                wrap(require_POST(self.again_view)),
                name="algorithms_baselinerun_again",
            ),
            *super().get_urls(),
        ]

    def _run_or_404(self, request: HttpRequest, pk: int) -> AlgorithmRun:
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
                "message": selectors.run_summary(run=run),
                "log_tail": run.log_tail,
                "elapsed": run.seconds,
                "cancel_requested": run.cancel_requested,
            }
        )

    def artifact_view(self, request: HttpRequest, pk: int, name: str) -> FileResponse:
        run = self._run_or_404(request, pk)
        stored = selectors.run_artifact(run=run, name=name)
        if stored is None:
            raise Http404("no such artifact")
        handle = stored.open()
        download = f"{run.task.slug}-run{run.pk}-{name}"
        return FileResponse(handle, as_attachment=True, filename=download)

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run_or_404(request, pk)
        if not self.has_operate_permission(request):
            raise PermissionDenied
        self._cancel(request, run)
        return redirect("admin:algorithms_baselinerun_change", run.pk)

    def again_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run_or_404(request, pk)
        if not self.has_operate_permission(request):
            raise PermissionDenied
        self._run_again(request, run)
        return redirect("admin:algorithms_baselinerun_changelist")

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        """Queue baselines for the tasks the organizer ticks."""
        if not self.has_operate_permission(request):
            raise PermissionDenied
        form = BaselineQueueForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                report = baselines_queue(
                    tasks=data["tasks"],
                    presets=data["presets"],
                    time_limit=data["time_limit"],
                    skip_succeeded=data["skip_succeeded"],
                    actor=request.user,
                )
            except BaselineRunRefused as exc:
                form.add_error("time_limit", exc.message)
            else:
                for run in report.queued:
                    messages.success(request, f"Queued run #{run.pk} for {run.task.slug}.")
                for task, reason in report.skipped:
                    messages.warning(request, f"Skipped {task.slug}: {reason}")
                return redirect("admin:algorithms_baselinerun_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Queue baselines for tasks",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "algorithms/admin/queue.html", context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        run = self.get_object(request, object_id) if object_id else None
        extra_context = {
            **(extra_context or {}),
            "can_operate": self.has_operate_permission(request),
            "summary": selectors.run_summary(run=run) if run is not None else "",
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_operate": self.has_operate_permission(request),
        }
        return super().changelist_view(request, extra_context)
