"""Organizer console for the leaderboard app: boards (derived, read-only), each task's
champion: its timeline, and a pin by hand with a reason (audited as ``champion.pin``), and
each task's public board mode with the ladder's decisions (docs/organizers/ladder.md; audited as
``task.public_board``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from algorithms.models import AlgorithmRun
from challenges.audit import ReasonRequired
from challenges.console import ReadOnlyAdminMixin
from datasets.models import Task
from kinds.boards import board_mode_problem
from scoring.models import Reference, Submission

from .boards.ladder import BoardModeRefused
from .boards.mode import task_board_mode_set
from .champion.entries import Entry, entry_of
from .champion.services import ChampionRefused, champion_ensure, champion_pin
from .models import ChampionChange, LadderStep, LeaderboardEntry, TaskBoardMode, TaskChampion


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Derived from the scored submissions (and the bootstrap intervals): never typed."""

    list_display = ("task", "split", "position", "rank", "team", "score", "is_baseline")
    list_filter = ("task__track__challenge", "task", "split", "is_baseline")
    search_fields = ("team__name", "task__slug")
    list_select_related = ("task", "team")


class PinForm(forms.Form):
    """The entry to pin (a submission or run id, or a reference's name) and why."""

    entry_type = forms.ChoiceField(
        choices=[
            ("submission", "Submission (its id)"),
            ("run", "Algorithm run scored on itself (its id)"),
            ("reference", "Reference (its name)"),
        ]
    )
    entry = forms.CharField(max_length=200, help_text="e.g. 1234, or 'production model'")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="Recorded in the audit log and shown on the task's champion timeline.",
    )


@admin.register(TaskChampion)
class TaskChampionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each task's champion and timeline; "Pin a champion" replaces it by hand."""

    list_display = ("task", "current", "updated_at")
    list_filter = ("task__track__challenge",)
    search_fields = ("task__slug", "task__title")
    list_select_related = ("task", "current")
    readonly_fields = ("task", "current", "updated_at", "timeline")
    change_form_template = "leaderboard/admin/champion_change_form.html"

    @admin.display(description="Timeline (oldest first)")
    def timeline(self, obj: TaskChampion) -> str:
        """The task's champion changes, recorded by the gate and by pins only."""
        changes = ChampionChange.objects.filter(task_id=obj.task_id).order_by("at", "pk")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{c.at:%Y-%m-%d %H:%M}",
                    c.label,
                    c.get_by_display(),
                    c.split,
                    "—" if c.difference is None else f"{c.difference:+.4f}",
                    "—" if c.nfr_upper is None else f"{c.nfr:.4f} (≤ {c.nfr_upper:.4f})",
                    c.reason or "—",
                )
                for c in changes
            ),
        )
        head = mark_safe(
            "<tr><th>at</th><th>entry</th><th>by</th><th>split</th><th>difference</th>"
            "<th>NFR</th><th>reason</th></tr>"
        )
        return format_html('<table id="champion-timeline">{}{}</table>', head, rows)

    def has_pin_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("leaderboard.change_taskchampion")

    def get_urls(self):
        pin = self.admin_site.admin_view(self.pin_view)
        return [
            path("<int:object_id>/pin/", pin, name="leaderboard_taskchampion_pin"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_pin"] = self.has_pin_permission(request)
        return super().render_change_form(request, context, *args, **kwargs)

    def pin_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        holder = TaskChampion.objects.select_related("task__track__challenge").filter(pk=object_id)
        holder = holder.first()
        if holder is None:
            raise Http404("no such task champion")
        if not self.has_pin_permission(request):
            raise PermissionDenied
        task = holder.task
        form = PinForm(request.POST if request.method == "POST" else None)
        problem = ""
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            entry = _pinned_entry(task.pk, data["entry_type"], data["entry"])
            if entry is None:
                problem = f"Task '{task.slug}' has no such {data['entry_type']}: {data['entry']}."
            else:
                try:
                    change = champion_pin(
                        task=task, entry=entry, actor=request.user, reason=data["reason"]
                    )
                except (ChampionRefused, ReasonRequired) as exc:
                    problem = str(exc)
                else:
                    messages.success(
                        request, f"{change.label} is now the champion of {task.title}."
                    )
                    url = reverse("admin:leaderboard_taskchampion_change", args=[holder.pk])
                    return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Pin a champion of {task.title}",
            "opts": self.model._meta,
            "original": holder,
            "form": form,
            "problem": problem,
        }
        return TemplateResponse(request, "leaderboard/admin/champion_pin.html", context)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("task", "current")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """Every task appears once it is weighed; the console can pin from the start too."""
        for task in Task.objects.exclude(champion__isnull=False):
            champion_ensure(task=task)
        return super().changelist_view(request, extra_context)


def _pinned_entry(task_id: int, entry_type: str, value: str) -> Entry | None:
    value = value.strip().removeprefix("#")
    if entry_type == "reference":
        return entry_of(
            reference=Reference.objects.filter(task_id=task_id, name__iexact=value).first()
        )
    if not value.isdigit():
        return None
    if entry_type == "submission":
        return entry_of(
            submission=Submission.objects.filter(task_id=task_id, pk=int(value)).first()
        )
    return entry_of(run=AlgorithmRun.objects.filter(task_id=task_id, pk=int(value)).first())


# --- the public board's modes (docs/organizers/ladder.md) -----------------------------------------


class BoardModeForm(forms.ModelForm):
    """A task's public board mode and the bootstrap rule's settings, and why (audited)."""

    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in the audit log with the values before and after.",
    )

    class Meta:
        model = TaskBoardMode
        fields = ("public_board", "ladder_bootstraps", "ladder_bayes_factor")

    def clean(self) -> dict:
        data = super().clean()
        task = self.instance
        problem = board_mode_problem(
            kind=task.kind,
            metric=task.primary_metric,
            classes=task.classes or [],
            mode=data.get("public_board") or task.public_board,
        )
        if problem:
            self.add_error("public_board", problem)
        return data


@admin.register(TaskBoardMode)
class TaskBoardModeAdmin(admin.ModelAdmin):
    """Each task's public board mode: plain, ladder, ladder-bootstrap or ladder-step. A change
    rebuilds the board under the new mode in the same transaction (``task_board_mode_set``)."""

    form = BoardModeForm
    list_display = (
        "title", "slug", "track", "primary_metric", "public_board", "ladder_bootstraps",
        "ladder_bayes_factor",
    )  # fmt: skip
    list_filter = ("public_board", "track__challenge")
    search_fields = ("title", "slug")
    list_select_related = ("track",)
    fields = ("public_board", "ladder_bootstraps", "ladder_bayes_factor", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: TaskBoardMode, form, change: bool) -> None:
        task = Task.objects.select_related("track__challenge").get(pk=obj.pk)
        data = form.cleaned_data
        try:
            changed = task_board_mode_set(
                task=task,
                mode=data["public_board"],
                bootstraps=data["ladder_bootstraps"],
                bayes_factor=data["ladder_bayes_factor"],
                actor=request.user,
                reason=data.get("reason") or "",
            )
        except BoardModeRefused as exc:
            messages.error(request, str(exc))
            return
        if changed:
            messages.success(request, f"{task.title}: the public board is now {task.public_board}.")


@admin.register(LadderStep)
class LadderStepAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every entry weighed on its team's ladder, with the decision's figures and the
    entry's exact public score (organizers only)."""

    list_display = (
        "submission", "task", "team", "mode", "climbed", "shown_score", "exact_score",
        "difference", "standard_error", "bayes_factor", "decided_at",
    )  # fmt: skip
    list_filter = ("task__track__challenge", "task", "mode", "climbed")
    search_fields = ("team__name", "task__slug")
    list_select_related = ("task", "team", "submission")

    @admin.display(description="exact public score")
    def exact_score(self, step: LadderStep) -> float | None:
        return step.submission.public_score
