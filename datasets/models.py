"""A Task is one standardized dataset of one kind, in one track."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from challenges.markdown import MarkdownHtmlField
from challenges.stored_files import StoredFile, every_file_field
from common import board_modes, keyfile
from jobs.models import Job
from kinds import kind_choices


class PrivateStorage(LazyObject):
    """The ``private`` storage from ``settings.STORAGES``, resolved on first use.

    Django evaluates a callable ``storage=`` once, when the model class loads; this proxy makes
    the files follow the configured backend (local folder or S3) even when settings change.
    """

    def _setup(self) -> None:
        self._wrapped = storages["private"]


_private_storage = PrivateStorage()


@receiver(setting_changed)
def _reset_private_storage(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        _private_storage._wrapped = empty


def private_storage() -> PrivateStorage:
    return _private_storage


def task_file_path(instance: Task, filename: str) -> str:
    """``tasks/<slug>/<file>`` for a task's first data version (the names every task had
    before versions existed), ``tasks/<slug>/v<N>/<file>`` for version N >= 2."""
    version = getattr(instance, "data_version", 1) or 1
    if version <= 1:
        return f"tasks/{instance.slug}/{filename}"
    return f"tasks/{instance.slug}/v{version}/{filename}"


def default_public_board() -> str:
    """The mode a new task's public board starts in (``PUBLIC_BOARD_DEFAULT``:
    "ladder-step")."""
    mode = getattr(settings, "PUBLIC_BOARD_DEFAULT", board_modes.DEFAULT_MODE)
    return mode if mode in board_modes.MODES else board_modes.DEFAULT_MODE


class PublicBoard(models.TextChoices):
    """A task's public board mode (``common.board_modes``, docs/organizers/ladder.md)."""

    PLAIN = board_modes.PLAIN, board_modes.LABELS[board_modes.PLAIN]
    LADDER = board_modes.LADDER, board_modes.LABELS[board_modes.LADDER]
    LADDER_BOOTSTRAP = (
        board_modes.LADDER_BOOTSTRAP,
        board_modes.LABELS[board_modes.LADDER_BOOTSTRAP],
    )
    LADDER_STEP = board_modes.LADDER_STEP, board_modes.LABELS[board_modes.LADDER_STEP]


# What a new bundle version redefines on its task (the console shows them read-only); the
# title, the description and the owners stay as the organizers edited them.
BUNDLE_FIELDS = (
    "columns",
    "classes",
    "primary_metric",
    "public_fraction",
    "split_seed",
    "train_rows",
    "test_rows",
    "card",
    "opis",
    "meta",
)
# A task's (and a version's) files.
TASK_FILE_FIELDS = (
    "train_csv",
    "train_parquet",
    "test_csv",
    "test_parquet",
    "images_zip",
    "solution",
)


class Task(models.Model):
    track = models.ForeignKey(
        "challenges.Track", on_delete=models.PROTECT, related_name="tasks"
    )
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown")
    description_html = MarkdownHtmlField(source="description")
    # The kinds are modules (``kinds.registry``), not database values: a callable's choices
    # follow the registry without a migration, and the import service refuses any other.
    kind = models.CharField(max_length=20, choices=kind_choices)
    columns = models.JSONField(
        default=list, help_text='[{"name": ..., "type": text|numeric|categorical|image}]'
    )
    classes = models.JSONField(default=list)
    primary_metric = models.CharField(max_length=40)
    public_fraction = models.FloatField(default=0.3)
    split_seed = models.IntegerField(default=0)
    train_rows = models.PositiveIntegerField(default=0)
    test_rows = models.PositiveIntegerField(default=0)
    card = models.JSONField(default=dict, blank=True)
    opis = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "OPIS settings from task.yaml (docs/architecture.md §11): "
            '{"group_column": name or null, "group_source": "test" | "solution" | null, '
            '"range": [lo, hi], "min_group_rows": n}; a solution group column is kept in the '
            "private solution"
        ),
    )
    meta = models.JSONField(default=dict, blank=True, help_text="The standardized task.json")
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    owner_team = models.ForeignKey(
        "challenges.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_tasks",
        help_text="The team that contributed this task's data: its members manage this task "
        "only (baselines, its submissions after the reveal), never the rest of the challenge.",
    )

    data_version = models.PositiveIntegerField(
        default=1, help_text="The number of the current TaskVersion (its files are the task's)"
    )
    gate_nfr_epsilon = models.FloatField(
        null=True,
        blank=True,
        help_text="This task's bound on the champion gate's negative flip rate (e.g. 0.01); "
        "empty: the challenge's (docs/organizers/champion-gate.md).",
    )
    # How the public split is shown to participants (docs/organizers/ladder.md):
    # ``common.board_modes``.
    public_board = models.CharField(
        max_length=16,
        choices=PublicBoard.choices,
        default=default_public_board,
        help_text="How participants see the public board: plain (every exact score), ladder "
        "(a shown score moves only on a significant climb), ladder-bootstrap (the DREAM "
        "bootstrap rule) or ladder-step (a full step and a significant climb). Organizers "
        "always see every exact score (docs/organizers/ladder.md).",
    )
    ladder_bootstraps = models.PositiveIntegerField(
        default=board_modes.DEFAULT_BOOTSTRAPS,
        help_text="ladder-bootstrap: the paired bootstraps of each decision.",
    )
    ladder_bayes_factor = models.FloatField(
        default=board_modes.DEFAULT_BAYES_FACTOR,
        help_text="ladder-bootstrap: a new entry climbs when its bootstrap wins over its "
        "losses exceed this (DREAM: 3).",
    )

    # Public to logged-in participants (streamed through a view, never served directly).
    train_csv = models.FileField(upload_to=task_file_path, max_length=300)
    train_parquet = models.FileField(upload_to=task_file_path, max_length=300)
    test_csv = models.FileField(upload_to=task_file_path, max_length=300)
    test_parquet = models.FileField(upload_to=task_file_path, max_length=300)
    images_zip = models.FileField(upload_to=task_file_path, max_length=300, blank=True)
    # Organizers only: the labels of the test rows and their public/private split.
    solution = models.FileField(upload_to=task_file_path, storage=private_storage, max_length=300)

    class Meta:
        ordering = ["track", "order", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(public_fraction__gt=0) & Q(public_fraction__lt=1),
                name="task_public_fraction_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(gate_nfr_epsilon__isnull=True)
                | (Q(gate_nfr_epsilon__gte=0) & Q(gate_nfr_epsilon__lte=1)),
                name="task_gate_nfr_epsilon_range",
            ),
            models.CheckConstraint(
                condition=Q(public_board__in=board_modes.MODES), name="task_public_board_valid"
            ),
            models.CheckConstraint(
                condition=Q(ladder_bootstraps__gte=board_modes.MIN_BOOTSTRAPS)
                & Q(ladder_bootstraps__lte=board_modes.MAX_BOOTSTRAPS),
                name="task_ladder_bootstraps_range",
            ),
            models.CheckConstraint(
                condition=Q(ladder_bayes_factor__gte=1), name="task_ladder_bayes_factor_range"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def challenge(self):
        return self.track.challenge

    def stored_files(self) -> list[StoredFile]:
        """The files this task names: every data version's (the current one's are its
        fields), and each version's solution key table (``common.keyfile``)."""
        found = every_file_field(self)
        fields = {f.name for f in self._meta.get_fields() if isinstance(f, models.FileField)}
        for version in self.versions.all():
            for field, name in version.files.items():
                if field in fields and name:
                    storage = self._meta.get_field(field).storage
                    found.append(StoredFile(storage, name, Task, field))
        solutions = {stored.name for stored in found if stored.column == "solution"}
        storage = self._meta.get_field("solution").storage
        found += [StoredFile(storage, keyfile.keys_name(name)) for name in sorted(solutions)]
        # the current version's files are its fields' too: each file once
        return list({(id(stored.storage), stored.name): stored for stored in found}.values())


class TaskVersion(models.Model):
    """One version of a task's data: the bundle an organizer or the task's owners uploaded.

    The task's file fields always hold the current version's files; older versions' files
    stay in storage (history), named in ``files``, until the version is pruned
    (``TASK_DATA_VERSIONS_KEPT``, ``datasets.version_uploads.task_versions_prune``): its
    files are deleted and ``files`` emptied, the row stays as the record. Version 1 is the
    import.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(blank=True, help_text="Why the data changed (the audit reason)")
    files = models.JSONField(
        default=dict, blank=True, help_text="Task file field -> stored file name of this version"
    )
    train_rows = models.PositiveIntegerField(default=0)
    test_rows = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(
        max_length=64, blank=True, help_text="Of the uploaded bundle (empty for older imports)"
    )
    # What a version was, kept when the next one replaces the task's fields (its Croissant
    # description, docs/participants/formats.md): the task.json and card.json of this version ({}
    # for a version replaced before they were kept).
    meta = models.JSONField(default=dict, blank=True, help_text="This version's task.json")
    card = models.JSONField(default=dict, blank=True, help_text="This version's card.json")
    # Filled on first use (datasets.versions): file name -> {"sha256", "size"} of this
    # version's public files, and the rows added, removed and relabelled since the previous.
    file_digests = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(
        null=True, blank=True, help_text="Rows added, removed, relabelled since the previous"
    )
    # The storage quota (challenges.upload_budget): the team a task owner's version
    # counts against (null: an organizer's or the import), and the bytes its files take.
    team = models.ForeignKey(
        "challenges.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team whose storage quota this version counts against (a task owner's)",
    )
    stored_bytes = models.PositiveBigIntegerField(
        default=0, help_text="Bytes of its stored files (0 once pruned)"
    )
    pruned_at = models.DateTimeField(
        null=True, blank=True, help_text="When its files were deleted (an old version)"
    )
    # A phase's own test set (docs/decisions/0066-phases.md, datasets.phase_versions): the
    # phase whose entries this version scores (null: every phase without its own), and when
    # it became the task's current data (null while staged ahead of its phase's start).
    phase = models.ForeignKey(
        "challenges.Phase",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="task_versions",
        help_text="The phase whose entries this version scores (empty: every other phase)",
    )
    released_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a phase's version became the task's current data (empty: staged)",
    )

    class Meta:
        ordering = ["task", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["task", "number"], name="task_version_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="task_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.task} v{self.number}"


class VersionUploadStatus(models.TextChoices):
    QUEUED = "queued"
    CHECKING = "checking"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    FAILED = "failed"


def version_upload_path(instance: TaskVersionUpload, filename: str) -> str:
    return f"version-uploads/{instance.task.slug}/{filename}"


class TaskVersionUpload(Job):
    """A new version of a task's bundle waiting for, under or past its check: a job of the
    one lifecycle (``queued -> checking -> accepted | refused | failed``,
    ``datasets.version_uploads``). The web process only stores the uploaded ``.zip``
    (``bundle``, private); a worker checks it as an import is checked and, when it is valid,
    makes it the task's next :class:`TaskVersion` (``version``) in the transaction that ends
    the job. ``refused`` lists every problem (nothing changed); ``failed`` is the platform's
    fault (``error``). The bundle is deleted once the job is final."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="version_uploads")
    team = models.ForeignKey(
        "challenges.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team whose budget it counts against (a task owner's upload)",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    phase = models.ForeignKey(
        "challenges.Phase",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Staged as this phase's own data, released at its start (empty: replaces now)",
    )
    reason = models.TextField(help_text="Why the data changes (the audit reason)")
    bundle = models.FileField(
        upload_to=version_upload_path, storage=private_storage, max_length=300, blank=True
    )
    bundle_name = models.CharField(max_length=255, help_text="The uploaded file's name")
    bundle_size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=VersionUploadStatus.choices, default=VersionUploadStatus.QUEUED
    )
    problems = models.JSONField(default=list, blank=True, help_text="Why it was refused")
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why it failed (the platform's fault)")
    version = models.ForeignKey(
        TaskVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "status_changed_at"])]

    def __str__(self) -> str:
        return f"{self.task} upload {self.pk} ({self.status})"
