"""Algorithm runs: the sandbox's limits, the AutoGluon baseline, the living benchmark
(re-runs, reproductions, stress runs) and the public board mode a new task gets."""

from __future__ import annotations

from .environment import BASE_DIR, env, env_int

# The AutoGluon baseline's work is fixed (its models, rounds, seeds and threads:
# algorithms/builtin/autogluon/budget.py), so a re-run gives the same predictions on an idle
# or a busy worker; BASELINE_TIME_LIMIT is only its safety limit: a baseline not finished
# within it fails with the reason instead of fitting less. BASELINE_PRESETS decides bagging
# and stacking (medium_quality: none), never the models.
BASELINE_TIME_LIMIT = env_int("BASELINE_TIME_LIMIT", 1800)
BASELINE_PRESETS = env("BASELINE_PRESETS", "medium_quality")
BASELINE_HARD_TIME_LIMIT = BASELINE_TIME_LIMIT * 3 + 300
# The baseline is an algorithm run in the sandbox (algorithms.services.builtin): its memory
# cap (address space), the train size above which it fits on a stratified sample, the test
# rows predicted at a time, and the folder of its code ("": algorithms/builtin/autogluon).
BASELINE_MEMORY_MB = env_int("BASELINE_MEMORY_MB", 8192)
BASELINE_MAX_TRAIN_ROWS = env_int("BASELINE_MAX_TRAIN_ROWS", 1_000_000)
BASELINE_PREDICT_BATCH_ROWS = env_int("BASELINE_PREDICT_BATCH_ROWS", 100_000)
BASELINE_ALGORITHM_DIR = env("BASELINE_ALGORITHM_DIR", "")
# Algorithm runs (docs/architecture.md §9): the sandbox's limits per run, and the Celery
# limits around them.
ALGORITHM_WALL_SECONDS = env_int("ALGORITHM_WALL_SECONDS", 900)
ALGORITHM_CPU_SECONDS = env_int("ALGORITHM_CPU_SECONDS", 1800)
ALGORITHM_MEMORY_MB = env_int("ALGORITHM_MEMORY_MB", 4096)
ALGORITHM_PROCESSES = env_int("ALGORITHM_PROCESSES", 128)
# Cores one run may keep busy at once (a cgroup CPU quota where the host has the cpu
# controller); 0: no cap beyond the host's.
ALGORITHM_CPUS = env_int("ALGORITHM_CPUS", 0)
ALGORITHM_OUTPUT_MB = env_int("ALGORITHM_OUTPUT_MB", 200)
ALGORITHM_TMP_MB = env_int("ALGORITHM_TMP_MB", 1024)
ALGORITHM_LOG_MB = env_int("ALGORITHM_LOG_MB", 20)
ALGORITHM_MAX_ARCHIVE_BYTES = env_int("ALGORITHM_MAX_ARCHIVE_BYTES", 20 * 1024 * 1024)
ALGORITHM_MAX_ATTEMPTS = env_int("ALGORITHM_MAX_ATTEMPTS", 2)
# The unprivileged host uid (and gid) a root worker's sandboxes run as (algorithms.sandbox.
# hostuser; never 0); 65534 is nobody. A worker that is not root runs them as itself.
ALGORITHM_SANDBOX_UID = env_int("ALGORITHM_SANDBOX_UID", 65534)
# The memory promised to all sandboxed runs of one host at once (each run: what it can hold
# in RAM, SandboxLimits.host_memory_mb), baselines included; a run waits for room. MB, 0 for
# no total, or "auto": the host's memory less 1 GiB for the workers
# (algorithms.services.common). Ledger folder: local to the host.
ALGORITHM_TOTAL_MEMORY_MB: str | int = env("ALGORITHM_TOTAL_MEMORY_MB", "auto").strip().lower()
if ALGORITHM_TOTAL_MEMORY_MB != "auto":
    ALGORITHM_TOTAL_MEMORY_MB = int(ALGORITHM_TOTAL_MEMORY_MB)  # a number, as env_int reads one
ALGORITHM_MEMORY_LEDGER_DIR = env("ALGORITHM_MEMORY_LEDGER_DIR", "")
# Fair share (algorithms.services.dispatch): a worker takes the best queued run, by its
# profile's priority class, then the share of the algorithm's team (runs running now, CPU
# seconds of runs finished within this window), then age.
ALGORITHM_FAIR_SHARE_WINDOW_SECONDS = env_int("ALGORITHM_FAIR_SHARE_WINDOW_SECONDS", 3600)
# Queued + running runs one team may have at once (a team's own runs; 0: no cap), so one
# team cannot fill the queue until the others wait for hours.
ALGORITHM_MAX_PENDING_RUNS_PER_TEAM = env_int("ALGORITHM_MAX_PENDING_RUNS_PER_TEAM", 50)
# Rows per row group of the test.parquet a run gets in /task (so algorithms can stream it).
ALGORITHM_TEST_ROW_GROUP_ROWS = env_int("ALGORITHM_TEST_ROW_GROUP_ROWS", 262_144)
# The living benchmark (docs/architecture.md §12, algorithms.services.benchmark): the
# CPU-hours per UTC day the background runs (re-runs of benchmark versions, reproductions) may use;
# once spent they stay queued until the next day or a higher budget. 0: none run.
BENCHMARK_CPU_HOURS_PER_DAY = float(env("BENCHMARK_CPU_HOURS_PER_DAY", "24"))
# The versions one team keeps in the benchmark (its marks first, then its final version, then
# its latest versions); marking one more in is refused. 0: no cap.
BENCHMARK_VERSIONS_PER_TEAM = env_int("BENCHMARK_VERSIONS_PER_TEAM", 3)
# The share of finished runs repeated on another worker to check their predictions agree.
REPRODUCTION_SHARE = float(env("REPRODUCTION_SHARE", "0.02"))
# How long a reproduction waits for another worker of its queue (one that did not run the
# original) before the worker that ran it may take it itself; a worker alone on the queue
# takes it at once. Its manifest says which. At most JOB_REPUBLISH_SECONDS x
# JOB_REPUBLISH_LIMIT / 4 (algorithms.services.budget.prefer_other_seconds).
REPRODUCTION_PREFER_OTHER_SECONDS = float(env("REPRODUCTION_PREFER_OTHER_SECONDS", "120"))
# A re-run whose inputs (archive, runtime lock, task data, seed, limits) equal a finished
# run's takes its result instead of running again.
BENCHMARK_REUSE_RESULTS = env("BENCHMARK_REUSE_RESULTS", "1") == "1"
# A task that arrives (imported by any path, or given a new data version) queues its AutoGluon
# baseline and its trivial baseline at once, in the transaction that adds it, so its boards and
# transfer cells get their bar with no one acting (0: organizers queue them: console,
# run_baselines).
BENCHMARK_ON_ARRIVAL = env("BENCHMARK_ON_ARRIVAL", "1") == "1"
# The public board mode a task gets when it is created (docs/organizers/ladder.md): "ladder-step"
# (a team's shown score moves only by a full step and a significant climb; a metric that is no
# score between 0 and 1 falls back to "ladder"), "ladder", "ladder-bootstrap" or "plain";
# organizers change a task's in the console. Tasks that existed before the modes are "plain".
PUBLIC_BOARD_DEFAULT = env("PUBLIC_BOARD_DEFAULT", "ladder-step")
# Stress runs (docs/organizers/stress.md, algorithms.services.stress): every benchmark version and
# the AutoGluon baseline run again on perturbed copies of each task's test rows, within the same
# budget. 0: none are queued. STRESS_MAX_ROWS caps a stress test set (0: the clean size).
STRESS_RUNS = env("STRESS_RUNS", "1") == "1"
STRESS_MAX_ROWS = env_int("STRESS_MAX_ROWS", 200_000)
# The seed every run gets (``SEED`` and task.json's ``seed``), and the runtime lock whose
# sha256 each run's manifest records ("": the repository's requirements.lock).
ALGORITHM_SEED = env_int("ALGORITHM_SEED", 42)
ALGORITHM_RUNTIME_LOCK = env("ALGORITHM_RUNTIME_LOCK", str(BASE_DIR / "requirements.lock"))
# Copying the task in and submitting the output happen inside the soft limit too.
ALGORITHM_SOFT_TIME_LIMIT = ALGORITHM_WALL_SECONDS + 300
ALGORITHM_HARD_TIME_LIMIT = ALGORITHM_SOFT_TIME_LIMIT + 60
