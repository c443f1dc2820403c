"""Algorithms (a team's method, versioned) and their runs on tasks (docs/architecture.md
§9)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from challenges.markdown import MarkdownHtmlField
from challenges.stored_files import StoredFile, every_file_field
from datasets.models import private_storage
from jobs.models import Job


def archive_path_for(team, filename: str) -> str:
    """Where a team's archives are stored (private storage)."""
    return f"algorithms/{team.pk}/{filename}"


def archive_path(instance: AlgorithmVersion, filename: str) -> str:
    return archive_path_for(instance.algorithm.team, filename)


def run_artifact_path(instance: AlgorithmRun, filename: str) -> str:
    return f"algorithm-runs/{instance.task.slug}/{filename}"


class Algorithm(models.Model):
    """A team's method in one challenge; each upload of its archive is a new version."""

    challenge = models.ForeignKey(
        "challenges.Challenge", on_delete=models.CASCADE, related_name="algorithms"
    )
    team = models.ForeignKey(
        "challenges.Team", on_delete=models.CASCADE, related_name="algorithms"
    )
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="algorithm_name_unique_in_team")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.team})"


class AlgorithmVersion(models.Model):
    algorithm = models.ForeignKey(Algorithm, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    archive = models.FileField(upload_to=archive_path, storage=private_storage, max_length=300)
    archive_sha256 = models.CharField(max_length=64)
    archive_size = models.BigIntegerField(default=0)
    description = models.TextField(blank=True, help_text="Markdown, from algorithm.yaml")
    description_html = MarkdownHtmlField(source="description")
    entrypoint = models.CharField(max_length=200, default="main.py")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="algorithm_versions",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The living benchmark (docs/architecture.md §12): a version in the benchmark is
    # re-run by itself on every task added later and every new data version of a task. None: the
    # default rule (the algorithm's latest version, and the team's final one); True/False: the
    # team's mark.
    in_benchmark = models.BooleanField(
        null=True,
        blank=True,
        help_text="The team's mark; empty: the default (latest version, or the final one).",
    )
    is_final = models.BooleanField(
        default=False, help_text="The version the team chose as its final one (one per team)."
    )

    class Meta:
        ordering = ["algorithm", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["algorithm", "number"], name="algorithm_version_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm.name} v{self.number}"


class AlgorithmRunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (AlgorithmRunStatus.QUEUED, AlgorithmRunStatus.RUNNING)
FINAL = (AlgorithmRunStatus.SUCCEEDED, AlgorithmRunStatus.FAILED, AlgorithmRunStatus.CANCELLED)

# The run profiles the database knows by name (the registry with what each one means is
# ``algorithms.services.profiles``): a team's run, an organizer's run on another team's
# algorithm, and the AutoGluon baseline.
TEAM_PROFILE = "team"
ORGANIZER_PROFILE = "organizer"
BASELINE_PROFILE = "baseline"
# Background runs (docs/architecture.md §12): a benchmark version re-run on a new task or
# data version, and a finished run repeated on another worker to check its predictions agree.
BENCHMARK_PROFILE = "benchmark"
REPRODUCTION_PROFILE = "reproduction"
# A stress run (docs/organizers/stress.md): the same version on perturbed copies of the task's test
# rows, compared with a clean run of it (``stress_of``); background like a re-run.
STRESS_PROFILE = "stress"
BASELINE_STRESS_PROFILE = "baseline_stress"
STRESS_PROFILES = (STRESS_PROFILE, BASELINE_STRESS_PROFILE)


class AlgorithmRun(Job):
    """One algorithm version on one task, in the sandbox; the job row is the truth.

    Every run of every kind is one of these (a team's run, an organizer's, the baseline's);
    its ``profile`` decides its limits, queue and what its output becomes. Its claim,
    attempts and times are :class:`jobs.models.Job`'s.
    """

    version = models.ForeignKey(AlgorithmVersion, on_delete=models.CASCADE, related_name="runs")
    task = models.ForeignKey(
        "datasets.Task", on_delete=models.CASCADE, related_name="algorithm_runs"
    )
    profile = models.CharField(
        max_length=20,
        default=TEAM_PROFILE,
        db_index=True,
        help_text="Which run profile (algorithms.services.profiles) decides its limits, queue "
        "and outcome.",
    )
    status = models.CharField(
        max_length=16,
        choices=AlgorithmRunStatus.choices,
        default=AlgorithmRunStatus.QUEUED,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Written every few seconds while running; the sweeper ends a run whose worker went quiet.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker_hostname = models.CharField(max_length=255, blank=True)
    worker_pid = models.IntegerField(null=True, blank=True)
    runner_pid = models.IntegerField(
        null=True, blank=True, help_text="The sandbox's outer process (leader of its group)."
    )

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="algorithm_runs",
    )
    options = models.JSONField(
        default=dict, blank=True, help_text="The profile's options (the baseline's presets)."
    )
    # The challenge's phase open when the run was queued (docs/decisions/0066-phases.md):
    # its submission belongs to it, whenever the run ends. Null: none was open.
    phase = models.ForeignKey(
        "challenges.Phase",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="algorithm_runs",
    )

    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True, help_text="The last 64 KB of the run's log.")
    backend = models.CharField(max_length=40, blank=True)
    limits = models.JSONField(default=dict, blank=True, help_text="The sandbox's limits.")
    limit_hit = models.CharField(max_length=40, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    cpu_seconds = models.FloatField(null=True, blank=True)
    peak_memory_mb = models.FloatField(null=True, blank=True)
    log_bytes = models.BigIntegerField(null=True, blank=True)

    # The run manifest (docs/architecture.md §12): the seed is an input (queued with the
    # run, passed as ``SEED``); the pipeline records the rest (archive, runtime lock and task data
    # hashes, the task data version, and its use) in ``manifest``.
    seed = models.IntegerField(default=0)
    manifest = models.JSONField(default=dict, blank=True)
    reused_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reused_by",
        help_text="A finished run with the same inputs whose result this run took.",
    )
    reproduces = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reproductions",
        help_text="A reproduction run: the finished run it repeats on another worker.",
    )
    agreement = models.FloatField(
        null=True, blank=True, help_text="A reproduction: the share of identical predictions."
    )
    # A stress run (docs/organizers/stress.md): the clean run it is compared with, and per split and
    # family its score, the ratio to the clean score and the flip rate (kinds.robustness).
    stress_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="stress_runs",
        help_text="A stress run: the clean run of the same version it is compared with.",
    )
    robustness = models.JSONField(
        default=dict, blank=True, help_text="A stress run: its figures per split and family."
    )

    # A team's (or the baseline's) run: the submission its predictions became.
    submission = models.OneToOneField(
        "scoring.Submission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="algorithm_run",
    )
    # An organizer's run: scored here, per split, for the transfer matrix.
    scores = models.JSONField(default=dict, blank=True)
    predictions = models.FileField(
        upload_to=run_artifact_path, storage=private_storage, max_length=300, blank=True
    )
    # What the profile keeps of /output: the algorithm's result.json, and files (name ->
    # stored name, private storage; organizers only), e.g. AutoGluon's model leaderboard.
    result = models.JSONField(default=dict, blank=True, help_text="The run's result.json.")
    artifacts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "status_changed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[choice.value for choice in AlgorithmRunStatus]),
                name="algorithm_run_status_valid",
            ),
            # An AutoGluon fit takes minutes and the baselines queue runs one at a time.
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(profile=BASELINE_PROFILE, status__in=["queued", "running"]),
                name="one_active_baseline_algorithm_run_per_task",
            ),
            # The scheduler may hear of a task twice (added, then its data replaced): one
            # pending re-run of a version on a task is enough.
            models.UniqueConstraint(
                fields=["version", "task"],
                condition=Q(profile=BENCHMARK_PROFILE, status__in=["queued", "running"]),
                name="one_active_benchmark_run_per_version_and_task",
            ),
            models.UniqueConstraint(
                fields=["reproduces"],
                condition=Q(reproduces__isnull=False),
                name="one_reproduction_per_run",
            ),
            # One pending stress run of a version on a task (the tick may see it twice).
            models.UniqueConstraint(
                fields=["version", "task"],
                condition=Q(profile__in=STRESS_PROFILES, status__in=["queued", "running"]),
                name="one_active_stress_run_per_version_and_task",
            ),
        ]

    def __str__(self) -> str:
        return f"run #{self.pk}: {self.version} on {self.task}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_organizer_run(self) -> bool:
        """Started by an organizer outside the team: scored for the transfer matrix only."""
        return self.profile == ORGANIZER_PROFILE

    def stored_files(self) -> list[StoredFile]:
        """The files this run names: its predictions and the outputs its profile kept."""
        storage = self._meta.get_field("predictions").storage
        kept = self.artifacts.values() if isinstance(self.artifacts, dict) else ()
        return every_file_field(self) + [
            StoredFile(storage, name) for name in kept if isinstance(name, str) and name
        ]


class BaselineRunManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(profile=BASELINE_PROFILE)


class BaselineRun(AlgorithmRun):
    """The baseline's runs as the organizer console lists them: a view of
    :class:`AlgorithmRun` (a proxy, the same rows), not a second run model."""

    objects = BaselineRunManager()

    class Meta:
        proxy = True
        ordering = ["-created_at", "-id"]
        verbose_name = "baseline run"
        default_manager_name = "objects"

    def save(self, *args, **kwargs) -> None:
        self.profile = BASELINE_PROFILE  # a row saved through this view is a baseline run
        super().save(*args, **kwargs)
