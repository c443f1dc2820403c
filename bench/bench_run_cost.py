"""A run costs what its method costs: one algorithm run end to end against its main.py bare.

    .venv/bin/python bench/bench_run_cost.py                      # 10k and 10M rows
    .venv/bin/python bench/bench_run_cost.py --rows 10000 200000 --repeat 2   # a smoke run
    .venv/bin/python bench/bench_run_cost.py --from-request   # as a user meets it: 10k, 1M, 10M
    .venv/bin/python bench/bench_run_cost.py --profile team   # a team's run: scored, submitted

``--from-request`` (``bench/run_from_request.py``) times a run from the API request to its
score seen by the client, as ``chal algorithm submit --wait`` waits, against the same bare
program (target <= 1.2x); the rest of this docstring is the pipeline mode.

For each size, a classification task of that many test rows (an id and one numeric
feature; 10,000 train rows) is imported, and a trivial method (it reads the test ids and
writes one label for each, as Parquet) is run two ways, in turn, ``--repeat`` times:

- **bare**: ``python main.py`` in a fresh process, with ``TASK_DIR`` a folder of the same
  files (``train.parquet``, ``test.parquet``, ``task.json``) and ``OUTPUT_DIR`` an empty one:
  what the method costs;
- **run**: the platform's whole path for a living-benchmark re-run, as a worker does it:
  queued (``run_create``, committed), claimed (``algorithm_run_execute``: the dispatcher's
  claim), ``/task`` staged, the bubblewrap sandbox with every limit on, the output read and
  checked, scored and stored for the transfer matrix, and the matrix cell computed (its
  bootstrap against the task's baseline predictions, what the transfer page reads). A
  re-run is never on a board, so no board is refreshed. With ``--profile team``, a team's
  run instead: its submission made through the upload's checks and scored in the worker
  from the check's hand-over (``submission_score_here``), the board refreshed in the same
  transaction, its digests after commit; each of those parts is timed under the outcome.

Printed per size: the bare and run wall seconds (medians), run / bare (target <= 1.3x), and
what the pipeline does per run with each step's share of the run's wall time (the steps are
the pipeline's own functions, timed where ``algorithm_run_execute`` calls them; the rest: what no
step timed, a median over the runs like the others). SQLite in a
temporary DATA_DIR, a private redis-server for the doorbells, reuse of finished results off.
No timed assertion: the machine may be shared; the ratio is the figure.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

if __name__ == "__main__" and "--from-request" in sys.argv:
    # A user's path against a running site: a client of its own, no Django in this process.
    from run_from_request import main as from_request

    sys.exit(from_request())

os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-run-cost-")
os.environ["DJANGO_SETTINGS_MODULE"] = "challenge_platform.settings.test"
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from algorithms.models import AlgorithmRun, AlgorithmVersion  # noqa: E402
from algorithms.sandbox import bubblewrap  # noqa: E402
from algorithms.services import execute as pipeline  # noqa: E402
from algorithms.services import outcome  # noqa: E402
from algorithms.services.execute import algorithm_run_execute  # noqa: E402
from algorithms.services.profiles import BENCHMARK, TEAM, RunProfile, served_with  # noqa: E402
from algorithms.services.runs import run_create  # noqa: E402
from algorithms.services.taskfolder import task_folder_write  # noqa: E402
from algorithms.services.upload import algorithm_version_create  # noqa: E402
from challenges.models import Challenge, Team, TeamMembership  # noqa: E402
from datasets.models import Task  # noqa: E402
from datasets.services import task_import  # noqa: E402
from jobs.celery import app  # noqa: E402
from leaderboard.core.transfer import transfer_cell  # noqa: E402
from runtime.localredis import start_local_redis  # noqa: E402
from scoring.core.predictions import load_pred  # noqa: E402
from scoring.services import lifecycle, upload  # noqa: E402
from scoring.solutions import solution_for_task  # noqa: E402
from testkit.archives import make_zip, manifest  # noqa: E402

TRIVIAL = """
import json, os  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

task, out = os.environ["TASK_DIR"], os.environ["OUTPUT_DIR"]
label = json.load(open(os.path.join(task, "task.json")))["classes"][0]
ids = pq.read_table(os.path.join(task, "test.parquet"), columns=["id"]).column("id")
pq.write_table(
    pa.table({"id": ids, "label": pa.repeat(label, len(ids))}),
    os.path.join(out, "predictions.parquet"),
)
"""
CLASSES = ("bird", "cat", "dog")
REST = "the rest (database, transitions, folders)"
TRAIN_ROWS = 10_000
TARGET = 1.3


# --- the pipeline's steps, timed where the pipeline calls them ---------------------------------


class Steps:
    """Seconds per step of the runs timed since the last :meth:`take`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def take(self) -> dict[str, float]:
        taken, self.seconds = dict(self.seconds), defaultdict(float)
        return taken

    @contextlib.contextmanager
    def timing(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


STEPS = Steps()
# (the pipeline module's attribute, the step's name): what algorithm_run_execute calls.
TIMED = (
    ("run_claim_next", "claim (the dispatcher's pick, under a row lock)"),
    ("staging_sweep", "sweep of dead workers' folders"),
    ("unpack_version", "unpack the archive"),
    ("task_folder_write", "stage /task"),
    ("manifest_inputs", "manifest (inputs, /task digest)"),
    ("solution_file", "the solution for the output check"),
    ("predictions_file", "read and check the output (its own process)"),
)


def _timed(name: str, function: Callable) -> Callable:
    @functools.wraps(function)
    def timed(*args, **kwargs):
        with STEPS.timing(name):
            return function(*args, **kwargs)

    return timed


CHECK = "read and check the output (its own process)"
# The check's own steps, as its process timed them (shown under CHECK, not summed again).
CHECK_PARTS = (
    ("read", "the check: read the file (the uploads' bounded reader)"),
    ("align", "the check: align with the solution"),
    ("hand_over", "the check: write the hand-over"),
)
CHECK_OTHER = "the check: fork, limits, report, exit, link"
PARTS = [name for _, name in CHECK_PARTS] + [CHECK_OTHER]


def _checked(function: Callable) -> Callable:
    @functools.wraps(function)
    def checked(*args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        total = time.perf_counter() - started
        for key, name in CHECK_PARTS:
            STEPS.seconds[name] += result.seconds.get(key, 0.0)
        STEPS.seconds[CHECK_OTHER] += total - sum(result.seconds.values())
        return result

    return checked


FINISHED = {
    BENCHMARK.name: "score and store for the matrix",
    TEAM.name: "score and submit (the team's outcome, in all)",
}
# The team's outcome's own parts (shown under it, not summed again): (module, attribute, name).
TEAM_PARTS = (
    (outcome, "team_scored", "the outcome: score the hand-over (load, check, metrics)"),
    (upload, "_store_upload", "the outcome: store the uploaded file"),
    (lifecycle, "_store_predictions", "the outcome: store the aligned predictions"),
    (lifecycle, "_finish", "the outcome: finish scored (the board's refresh, hooks)"),
    (lifecycle, "_store_digests", "the outcome: digests (after commit)"),
)
# A step's parts, shown under it (never summed again).
SUBSTEPS = {CHECK: PARTS, FINISHED[TEAM.name]: [name for _, _, name in TEAM_PARTS]}
ALL_PARTS = [part for parts in SUBSTEPS.values() for part in parts]


def instrument(profile: RunProfile) -> None:
    for attribute, name in TIMED:
        setattr(pipeline, attribute, _timed(name, getattr(pipeline, attribute)))
    pipeline.predictions_file = _checked(pipeline.predictions_file)
    sandbox_run = bubblewrap.BubblewrapBackend.run
    bubblewrap.BubblewrapBackend.run = _timed("sandbox (bubblewrap, python main.py)", sandbox_run)
    object.__setattr__(profile, "finish", _timed(FINISHED[profile.name], profile.finish))
    for module, attribute, name in TEAM_PARTS:
        setattr(module, attribute, _timed(name, getattr(module, attribute)))


# --- the task and the two ways ------------------------------------------------------------


def write_bundle(folder: Path, *, rows: int, slug: str) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    (folder / "task.yaml").write_text(
        f"slug: {slug}\ntitle: {slug}\nkind: classification\ncolumns: {{f: numeric}}\n"
    )
    names = pa.array(CLASSES)

    def ids(prefix: str, n: int) -> pa.Array:
        return pa.array(np.char.add(prefix, np.arange(n).astype(str)))

    pq.write_table(
        pa.table(
            {
                "id": ids("t", TRAIN_ROWS),
                "f": rng.random(TRAIN_ROWS),
                "label": names.take(np.arange(TRAIN_ROWS) % len(CLASSES)),
            }
        ),
        folder / "train.parquet",
    )
    test_ids = pa.array(np.char.add("r", np.arange(rows).astype(str)))
    pq.write_table(pa.table({"id": test_ids, "f": rng.random(rows)}), folder / "test.parquet")
    labels = names.take(rng.integers(0, len(CLASSES), rows))
    pq.write_table(pa.table({"id": test_ids, "label": labels}), folder / "solution.parquet")
    return folder


def bare(task: Task, work: Path, code: Path) -> float:
    """``python main.py`` on the task's files (as a participant downloads them)."""
    folder = task_folder_write(task=task, folder=work / "bare-task")
    out = work / "bare-output"
    out.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TASK_DIR": str(folder),
        "OUTPUT_DIR": str(out),
        "SEED": "0",
    }
    started = time.perf_counter()
    subprocess.run([sys.executable, "-B", "-s", str(code / "main.py")], env=env, check=True)
    seconds = time.perf_counter() - started
    subprocess.run(["rm", "-rf", str(folder), str(out)], check=True)
    return seconds


def matrix_cell(run: AlgorithmRun, baseline_pred: np.ndarray) -> None:
    """What the transfer page reads of a new cell: its predictions against the baseline's,
    bootstrapped (``leaderboard.transfer.matrix``'s cell)."""
    with STEPS.timing("the matrix cell (bootstrap against the baseline)"):
        solution = solution_for_task(task=run.task)
        with run.predictions.open("rb") as handle:
            pred = load_pred(handle.read())
        public = np.asarray(solution.is_public, dtype=bool)
        transfer_cell(
            y=np.asarray(solution.y),
            pred=pred,
            baseline_pred=baseline_pred,
            kind=run.task.kind,
            rows=public,
        )


def pipeline_run(
    version: AlgorithmVersion, task: Task, baseline_pred: np.ndarray, profile: RunProfile, user
) -> float:
    started = time.perf_counter()
    with STEPS.timing("queue (run_create, committed)"), transaction.atomic():
        run = run_create(profile=profile, version=version, task=task, user=user, audit=False)
    status = algorithm_run_execute(served=served_with(profile=profile), worker="bench")
    run.refresh_from_db()
    if status != "succeeded":
        raise SystemExit(f"the run {status}: {run.error}\n{run.log_tail}")
    if profile is TEAM:
        if run.submission.status != "scored":
            raise SystemExit(f"the run's submission is {run.submission.status}")
    else:
        matrix_cell(run, baseline_pred)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way, in turn")
    parser.add_argument(
        "--profile",
        choices=[BENCHMARK.name, TEAM.name],
        default=BENCHMARK.name,
        help="whose run: a living-benchmark re-run (default) or a team's",
    )
    args = parser.parse_args()
    work = Path(os.environ["DATA_DIR"])
    redis = start_local_redis(work / "redis", port=None)
    app.conf.broker_url = redis.url
    settings.BENCHMARK_CPU_HOURS_PER_DAY = 10_000
    settings.BENCHMARK_REUSE_RESULTS = False
    settings.REPRODUCTION_SHARE = 0
    try:
        call_command("migrate", verbosity=0)
        measure(args, work)
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path) -> None:
    profile = TEAM if args.profile == TEAM.name else BENCHMARK
    instrument(profile)
    now = timezone.now()
    challenge = Challenge.objects.create(
        slug="bench",
        title="Bench",
        start=now - timedelta(days=1),
        end=now + timedelta(days=30),
        daily_submission_limit=100_000,
    )
    user = get_user_model().objects.create_user(username="u", password="x")
    team = Team.objects.create(challenge=challenge, name="team")
    TeamMembership.objects.create(team=team, user=user, challenge=challenge)
    archive = make_zip({"algorithm.yaml": manifest("Trivial"), "main.py": TRIVIAL})
    version = algorithm_version_create(
        challenge=challenge, user=user, file=SimpleUploadedFile("a.zip", archive), name="Trivial"
    )
    code = work / "code"
    code.mkdir()
    (code / "main.py").write_text(TRIVIAL)
    print(
        f"one {profile.label} run of a trivial method, bare and through the pipeline,"
        f" {args.repeat} times each in turn; load {os.getloadavg()[0]:.1f} on"
        f" {os.cpu_count()} CPUs"
    )
    results = []
    for rows in args.rows:
        slug = f"cost-{rows}"
        task = task_import(
            source=write_bundle(work / f"bundle-{rows}", rows=rows, slug=slug),
            challenge_slug="bench",
            track_slug="bench",
        )
        rng = np.random.default_rng(1)
        baseline_pred = rng.integers(0, len(CLASSES), rows).astype(np.int32)
        # The import queued the benchmark's re-run of the version (the living benchmark's
        # hook): it runs first, and warms the interpreter's files and the caches.
        while (
            algorithm_run_execute(served=served_with(profile=BENCHMARK), worker="bench")
            != "skipped"
        ):
            pass
        if profile is TEAM:  # a first one warms what a team's outcome imports and reads
            pipeline_run(version, task, baseline_pred, profile, user)
        bare(task, work, code)
        STEPS.take()
        bares, runs, shares = [], [], defaultdict(list)
        for _ in range(args.repeat):
            bares.append(bare(task, work, code))
            runs.append(pipeline_run(version, task, baseline_pred, profile, user))
            steps = STEPS.take()
            for name, seconds in steps.items():
                shares[name].append(seconds)
            # what no step timed, in this run (a median of differences, not a difference
            # of medians: the steps' medians come from different runs)
            counted = sum(v for k, v in steps.items() if k not in ALL_PARTS)
            shares[REST].append(max(runs[-1] - counted, 0.0))
        results.append((rows, bares, runs, shares))
        AlgorithmRun.objects.filter(task=task).update(predictions="")
        print_size(rows, bares, runs, shares)
    print(f"\n{'rows':>11} {'bare s':>8} {'run s':>8} {'run / bare':>11} {'target':>7} {'met?':>5}")
    for rows, bares, runs, _ in results:
        ratio = statistics.median(runs) / statistics.median(bares)
        print(
            f"{rows:>11,} {statistics.median(bares):>8.3f} {statistics.median(runs):>8.3f}"
            f" {ratio:>10.2f}x {TARGET:>6.1f}x {'yes' if ratio <= TARGET else 'no':>5}"
        )
    print(f"load {os.getloadavg()[0]:.1f} at the end")


def print_size(rows: int, bares: list[float], runs: list[float], shares: dict) -> None:
    run_s = statistics.median(runs)
    print(
        f"\n{rows:,} test rows: bare {statistics.median(bares):.3f} s, run {run_s:.3f} s"
        f" (medians of {len(runs)}); per run:"
    )
    steps = sorted(
        (item for item in shares.items() if item[0] != REST and item[0] not in ALL_PARTS),
        key=lambda item: -statistics.median(item[1]),
    )
    for name, values in [*steps, (REST, shares.get(REST, [0.0]))]:
        seconds = statistics.median(values)
        print(f"  {name:<58} {seconds:>8.3f} s {seconds / run_s:>6.1%}")
        for part in SUBSTEPS.get(name, ()):
            if part in shares:
                part_s = statistics.median(shares[part])
                print(f"    {part:<56} {part_s:>8.3f} s {part_s / run_s:>6.1%}")


if __name__ == "__main__":
    main()
