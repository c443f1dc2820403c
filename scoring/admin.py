"""Organizer console for the scoring app: the submission lifecycle and rescoring."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from challenges.console import ReadOnlyAdminMixin, action_reason
from common.export import rows_to_csv
from datasets.models import Task

from .models import Submission
from .services.finals import submission_visibility_set
from .services.sweep import submission_rescore, task_rescore


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Scores, metrics, status and files are written by scoring only; organizers change a
    submission through the actions that own each change (hide/restore, rescore)."""

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
    list_filter = ("status", "task__track__challenge", "task", "is_hidden", "created_at")
    search_fields = ("=id", "team__name", "task__slug", "note", "error")
    date_hierarchy = "created_at"
    raw_id_fields = ("uploaded_by",)
    list_select_related = ("task", "team")
    # The stored files would link to storage URLs, and MEDIA is never served.
    exclude = ("file", "predictions", "claim_token")
    readonly_fields = (
        "status",
        "status_changed_at",
        "error",
        "attempts",
        "claim_token",
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
    actions = (
        "rescore_submissions",
        "rescore_tasks",
        "hide_submissions",
        "restore_submissions",
        "export_csv",
    )

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Rescore, hide and restore: the organizer's change permission on submissions."""
        return request.user.has_perm("scoring.change_submission")

    @admin.action(description="Score the selected submissions again", permissions=["operate"])
    def rescore_submissions(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        count = 0
        for submission in queryset:
            submission_rescore(submission=submission, actor=request.user)
            count += 1
        self.message_user(request, f"{count} submission(s) queued for scoring.", messages.SUCCESS)

    @admin.action(
        description="Score every submission of the selected submissions' tasks again",
        permissions=["operate"],
    )
    def rescore_tasks(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        total = 0
        tasks = Task.objects.filter(pk__in=queryset.values("task_id"))
        for task in tasks:
            total += task_rescore(task=task, actor=request.user)
        self.message_user(
            request,
            f"{total} submission(s) of {len(tasks)} task(s) queued for scoring.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Hide / disqualify: remove from the leaderboards (record kept)",
        permissions=["operate"],
    )
    def hide_submissions(
        self, request: HttpRequest, queryset: QuerySet[Submission]
    ) -> HttpResponse | None:
        reason = action_reason(
            model_admin=self,
            request=request,
            queryset=queryset,
            title="Hide or disqualify submissions",
        )
        if isinstance(reason, HttpResponse):
            return reason
        for submission in queryset:
            submission_visibility_set(
                submission=submission, hidden=True, actor=request.user, reason=reason
            )
        self.message_user(request, f"{queryset.count()} submission(s) hidden.", messages.SUCCESS)
        return None

    @admin.action(description="Restore to the leaderboards", permissions=["operate"])
    def restore_submissions(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        for submission in queryset:
            submission_visibility_set(submission=submission, hidden=False, actor=request.user)
        self.message_user(request, f"{queryset.count()} submission(s) restored.", messages.SUCCESS)

    @admin.action(description="Export the selected submissions as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Submission]) -> HttpResponse:
        header = [
            "id",
            "task",
            "team",
            "uploaded_by",
            "created_at",
            "status",
            "public_score",
            "private_score",
            "is_final",
            "is_hidden",
            "row_count",
            "file_format",
            "note",
            "error",
        ]
        rows = (
            [
                s.pk,
                s.task.slug,
                s.team.name,
                s.uploaded_by.username if s.uploaded_by else "",
                s.created_at.isoformat(),
                s.status,
                s.public_score,
                s.private_score,
                s.is_final,
                s.is_hidden,
                s.row_count,
                s.file_format,
                s.note,
                s.error,
            ]
            for s in queryset.select_related("task", "team", "uploaded_by").order_by("pk")
        )
        response = HttpResponse(rows_to_csv(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="submissions.csv"'
        return response
