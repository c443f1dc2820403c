"""Reads of the datasets app: tasks, their dataset cards and their downloadable files."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.http import Http404

from challenges.models import Challenge, Team, TeamMembership, Track
from datasets.models import Task, TaskVersion
from kinds import kind_get

# Name in the URL -> the Task field that stores it. Participants may download these.
PUBLIC_FILES = {
    "train.csv": "train_csv",
    "train.parquet": "train_parquet",
    "test.csv": "test_csv",
    "test.parquet": "test_parquet",
    "images.zip": "images_zip",
}
# Organizers only; everyone else gets a 404, as if it did not exist.
SOLUTION_FILE = "solution.parquet"
ALL_FILES = {**PUBLIC_FILES, SOLUTION_FILE: "solution"}
FILE_DESCRIPTIONS = {
    "train.csv": "training rows with labels (CSV)",
    "train.parquet": "training rows with labels (Parquet)",
    "test.csv": "test rows to predict (CSV)",
    "test.parquet": "test rows to predict (Parquet)",
    "images.zip": "the images the image columns name",
    SOLUTION_FILE: "test labels and public/private split (organizers only)",
}


def task_list(*, challenge: Challenge | None = None, track: Track | None = None) -> QuerySet[Task]:
    """Tasks in display order, optionally of one challenge and/or one track."""
    tasks = Task.objects.select_related("track", "track__challenge")
    if challenge is not None:
        tasks = tasks.filter(track__challenge=challenge)
    if track is not None:
        tasks = tasks.filter(track=track)
    return tasks.order_by("track__challenge__start", "track__order", "track__slug", "order", "slug")


def task_get(*, slug: str | None = None, pk: int | None = None) -> Task:
    """The task with ``slug`` (or ``pk``), its track and challenge loaded; raises
    ``Task.DoesNotExist``. The one lookup of a task for every app."""
    lookup = {"slug": slug} if slug is not None else {"pk": pk}
    return Task.objects.select_related("track", "track__challenge").get(**lookup)


def task_get_or_404(*, slug: str) -> Task:
    """:func:`task_get` for views and API views: a missing task is ``Http404``."""
    try:
        return task_get(slug=slug)
    except Task.DoesNotExist as exc:
        raise Http404("no such task") from exc


def task_version_current(*, task: Task) -> TaskVersion | None:
    """The version whose files the task serves now (None for a task without versions)."""
    return TaskVersion.objects.filter(task=task, number=task.data_version).first()


def task_public_meta(*, task: Task) -> dict[str, Any]:
    """What the task's kind tells a participant besides the task's common fields: the
    prediction file's ``output_columns`` and ``optional_output_columns``, and the kind's own
    options (regression's ``tolerance``). Given by the task API and in a run's
    ``/task/task.json``."""
    return kind_get(task.kind).public_meta(task.meta or {}, list(task.classes))


def task_file_names(*, task: Task, include_solution: bool = False) -> list[str]:
    """Names of the files ``task`` has, in the order they are offered for download."""
    names = [name for name, field in PUBLIC_FILES.items() if getattr(task, field)]
    if include_solution and task.solution:
        names.append(SOLUTION_FILE)
    return names


def task_file_get(*, task: Task, name: str, organizer: bool) -> FieldFile | None:
    """The stored file ``name`` of ``task`` if this user may have it, else None.

    The solution is only ever returned for an organizer; unknown names and files the
    task doesn't have (``images.zip`` without image columns) return None.
    """
    field = PUBLIC_FILES.get(name)
    if field is None and name == SOLUTION_FILE and organizer:
        field = ALL_FILES[name]
    if field is None:
        return None
    field_file: FieldFile = getattr(task, field)
    return field_file if field_file else None


@dataclass(frozen=True)
class CardColumn:
    name: str
    type: str
    missing_share: float
    distinct: int
    summary: str

    @property
    def missing_percent(self) -> float:
        return 100 * self.missing_share


@dataclass(frozen=True)
class CardClass:
    name: str
    count: int
    share: float
    bar_percent: float  # share relative to the largest class, for the bar width

    @property
    def share_percent(self) -> float:
        return 100 * self.share


@dataclass(frozen=True)
class TaskCard:
    """The dataset card of a task, ready for ``datasets/_card.html`` and the kind's card
    templates (``kinds/<kind>/card_stats.html``, ``card.html``)."""

    kind: str
    train_rows: int
    test_rows: int
    columns: list[CardColumn]
    classes: list[CardClass]
    positive_rate: float | None
    example_header: list[str]
    example_rows: list[list[Any]]
    label_meaning: str = ""  # what ``label`` holds ("class name", "0 / 1", ...)
    labels: Mapping[str, Any] = field(default_factory=dict)  # the kind's view of its part
    stats_template: str = ""
    labels_template: str = ""

    @property
    def positive_percent(self) -> float | None:
        return None if self.positive_rate is None else 100 * self.positive_rate


def task_card(*, task: Task) -> TaskCard:
    """The stored card of ``task`` (``card.json``) shaped for display."""
    card: Mapping[str, Any] = task.card or {}
    rows = card.get("rows") or {}
    balance = card.get("class_balance") or []
    largest = max((c.get("share") or 0.0 for c in balance), default=0.0) or 1.0
    examples = card.get("examples") or []
    header = _example_header(card=card, examples=examples)
    kind = kind_get(task.kind)
    return TaskCard(
        kind=task.kind,
        train_rows=int(rows.get("train", task.train_rows)),
        test_rows=int(rows.get("test", task.test_rows)),
        columns=[
            CardColumn(
                name=str(c.get("name", "")),
                type=str(c.get("type", "")),
                missing_share=float(c.get("missing_share") or 0.0),
                distinct=int(c.get("distinct") or 0),
                summary=_column_summary(c),
            )
            for c in card.get("columns") or []
        ],
        classes=[
            CardClass(
                name=str(c.get("class", "")),
                count=int(c.get("count") or 0),
                share=float(c.get("share") or 0.0),
                bar_percent=round(100 * float(c.get("share") or 0.0) / largest, 1),
            )
            for c in balance
        ],
        positive_rate=card.get("positive_rate"),
        example_header=header,
        example_rows=[[_example_value(row.get(key)) for key in header] for row in examples],
        label_meaning=kind.label_meaning,
        labels=kind.card_view(card),
        stats_template=kind.template("card_stats"),
        labels_template=kind.template("card"),
    )


def _example_header(*, card: Mapping[str, Any], examples: list[Mapping[str, Any]]) -> list[str]:
    """The example rows' columns in the table's order (``example_columns``, kept at import),
    then any other a row holds (a card made before the order was kept: its rows' own)."""
    if not examples:
        return []
    ordered = [str(name) for name in card.get("example_columns") or [] if name in examples[0]]
    return ordered + [key for key in examples[0] if key not in ordered]


def _column_summary(column: Mapping[str, Any]) -> str:
    """A short description: numeric range, mean text length or the most frequent values."""
    kind = column.get("type")
    if kind == "numeric" and column.get("min") is not None:
        return (
            f"min {_data_value(column['min'])}, mean {_data_value(column.get('mean'))},"
            f" max {_data_value(column.get('max'))}"
        )
    if kind == "text" and column.get("mean_length") is not None:
        return f"mean length {column['mean_length']:.0f} characters"
    if kind == "categorical" and column.get("top_values"):
        top = column["top_values"][:3]
        return "most frequent: " + ", ".join(f"{v['value']} ({v['count']:,})" for v in top)
    return ""


def _data_value(value: Any) -> str:
    """A number from the data as the data writes it: ``1990``, never ``1,990`` nor
    ``1990.0`` (years, ids and codes are numbers too); a mean to five significant digits,
    or to the unit from 10,000 up. Thousands separators are for counts only."""
    if value is None:
        return "n/a"
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    if 1e4 <= abs(number) < 1e15:
        return f"{number:.0f}"
    return f"{number:.5g}"


def _example_value(value: Any) -> Any:
    """An example cell: integral floats (a year in a column with a missing value) as integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


@dataclass(frozen=True)
class ManageRefusal:
    """Why someone may not manage a task: ``not_task_owner`` (they are not its owner:
    pages answer 404, as for anything else they may not see) or ``team_hidden`` (its owner
    team was hidden or disqualified: they are told, 403)."""

    code: str
    message: str


def task_manage_refusal(
    *, task: Task, user: AbstractBaseUser | AnonymousUser
) -> ManageRefusal | None:
    """None when ``user`` may manage ``task``, else why not.

    The one check for the task-owner role (docs/architecture.md §10): organizers manage
    every task; a task owner (a member of ``task.owner_team``) only its own, and only while the
    organizers have not hidden or disqualified that team. Baselines, data versions, references, the
    task's submissions after the reveal and whatever else manages a single task call it
    (``task_manageable``)."""
    if user.is_authenticated and user.is_staff:
        return None
    member = (
        user.is_authenticated
        and task.owner_team_id is not None
        and TeamMembership.objects.filter(team_id=task.owner_team_id, user=user).exists()
    )
    if not member:
        return ManageRefusal(
            "not_task_owner",
            f"Only organizers and members of the team that contributed '{task.slug}' (its "
            "task owner) may manage this task.",
        )
    team = task.owner_team
    if team is not None and team.is_hidden:
        return ManageRefusal(
            "team_hidden", team.hidden_refusal(f"can no longer manage the task '{task.slug}'")
        )
    return None


def task_owner_upload_team(*, task: Task, user: AbstractBaseUser | AnonymousUser) -> Team | None:
    """The team whose upload budget (``challenges.upload_budget``) ``user``'s upload
    to ``task`` as its manager counts against (a data version, a reference file): a task
    owner's team; None for an organizer, who is not charged."""
    if not user.is_authenticated or user.is_staff:
        return None
    return task.owner_team


def task_manageable(*, task: Task, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` manages ``task`` (``task_manage_refusal`` has the why not)."""
    return task_manage_refusal(task=task, user=user) is None


def tasks_managed_by(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Task]:
    """The tasks ``user`` manages as a task owner (organizers: every task)."""
    if not user.is_authenticated:
        return Task.objects.none()
    if user.is_staff:
        return Task.objects.all()
    return Task.objects.filter(owner_team__memberships__user=user, owner_team__is_hidden=False)
