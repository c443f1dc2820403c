"""Organizer console for the scoring app: the submission lifecycle and rescoring."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from datasets.models import Task

from .models import Submission
from .services import submission_rescore, task_rescore


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task",
        "team",
        "status",
        "public_score",
        "private_score",
        "attempts",
        "created_at",
        "status_changed_at",
        "is_final",
        "is_hidden",
    )
    list_filter = ("status", "task", "is_hidden")
    search_fields = ("team__name", "note", "error")
    raw_id_fields = ("uploaded_by",)
    list_select_related = ("task", "team")
    readonly_fields = (
        "status",
        "status_changed_at",
        "error",
        "attempts",
        "scoring_token",
        "started_at",
        "finished_at",
        "scoring_seconds",
        "scores",
        "public_score",
        "private_score",
        "row_count",
        "file_format",
        "file_size",
        "original_name",
        "created_at",
    )
    actions = ("rescore_submissions", "rescore_tasks")

    @admin.action(description="Score the selected submissions again")
    def rescore_submissions(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        count = 0
        for submission in queryset:
            submission_rescore(submission=submission)
            count += 1
        self.message_user(request, f"{count} submission(s) queued for scoring.", messages.SUCCESS)

    @admin.action(description="Score every submission of the selected submissions' tasks again")
    def rescore_tasks(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        total = 0
        tasks = Task.objects.filter(pk__in=queryset.values("task_id"))
        for task in tasks:
            total += task_rescore(task=task)
        self.message_user(
            request,
            f"{total} submission(s) of {len(tasks)} task(s) queued for scoring.",
            messages.SUCCESS,
        )
