"""The AutoGluon baseline on the demo tasks: its scores, its cost, and the same predictions
on an idle and on a busy machine.

    .venv/bin/python bench/bench_baseline.py                       # every demo task
    .venv/bin/python bench/bench_baseline.py --tasks dblp-acm,digits-images --burners 2

Each demo task is built from its public source (``datasets.demo``, as ``load_demo`` does),
standardized, and laid out as a run's ``/task`` folder; the baseline algorithm runs in the
real bubblewrap sandbox with the environment the platform gives it (2 threads, AutoGluon's
memory budget from the sandbox's memory cap). Then, per task:

- its primary score on the public and private rows and on all rows, and the trivial
  reference's (the kind's ``trivial``: majority class / priors, no match, the train mean,
  every record alone), so the table says whether the baseline beats it;
- the fit's and the whole run's wall seconds and the run's CPU seconds;
- with ``--burners N`` (default 2, one per core here), the run again while N processes spin
  on the CPU, and whether the two prediction files are the same: ``agreement`` is the share
  of rows whose prediction (label, cluster or number) is the same, as a reproduction run
  computes it, and ``identical`` says whether every column, probabilities included, is
  bit-for-bit the same.

The machine may be shared with other jobs: the seconds are upper bounds; the scores and the
agreement do not depend on it, which is the point.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from algorithms.sandbox.base import SandboxJob, SandboxLimits
from algorithms.sandbox.bubblewrap import BubblewrapBackend
from datasets.core import prepare_task
from datasets.demo import DEMO_TASKS
from kinds import kind_get
from scoring.core import load_solution, score_file

BASELINE_DIR = Path(__file__).resolve().parent.parent / "algorithms" / "builtin" / "autogluon"
MEMORY_MB = 8192  # BASELINE_MEMORY_MB's default
AG_MEMORY_SHARE = 0.6  # algorithms.services.builtin.AG_MEMORY_SHARE
BURN = "import time\nend = time.time() + 7200\nwhile time.time() < end:\n    pass\n"


def baseline_code(root: Path) -> Path:
    """The baseline's folder laid out as its archive: main.py and algorithm.yaml at the top,
    the package as ``autogluon_baseline``."""
    code = root / "code"
    if code.exists():
        shutil.rmtree(code)
    package = code / "autogluon_baseline"
    shutil.copytree(BASELINE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("main.py", "algorithm.yaml"):
        shutil.move(package / name, code / name)
    return code


def task_folder(slug: str, work: Path, cache: Path) -> tuple[Path, dict]:
    """The demo task ``slug`` as a run's ``/task`` folder, and its standardized meta."""
    folder = work / slug / "run-task"
    std = work / slug / "std"
    if not (std / "task" / "task.json").is_file():
        builder = next(d.builder for d in DEMO_TASKS if d.slug == slug)
        shutil.rmtree(work / slug, ignore_errors=True)
        bundle = builder(out_dir=work / slug / "bundle", seed=0, cache_dir=cache)
        prepare_task(bundle, work_dir=std)
    meta = json.loads((std / "task" / "task.json").read_text())
    if not folder.exists():
        folder.mkdir(parents=True)
        for name in ("task.json", "train.parquet", "test.parquet"):
            shutil.copy(std / "task" / name, folder / name)
        images = std / "task" / "images.zip"
        if images.is_file():
            with zipfile.ZipFile(images) as archive:
                archive.extractall(folder / "images")
    return folder, meta


def run_baseline(
    code: Path, task: Path, out: Path, *, time_limit: int, extra: dict[str, str] | None = None
) -> tuple[dict, float]:
    """One sandboxed baseline run; its result.json and the run's wall seconds (``error`` in
    the result when it failed). ``extra``: more ``BASELINE_*`` options (``--env``)."""
    shutil.rmtree(out, ignore_errors=True)
    wall = 2 * time_limit + 120
    job = SandboxJob(
        code_dir=code,
        entrypoint="main.py",
        task_dir=task,
        output_dir=out,
        limits=SandboxLimits(
            wall_seconds=wall,
            cpu_seconds=2 * wall + 60,
            memory_mb=MEMORY_MB,
            processes=512,
            output_mb=4096,
            tmp_mb=512,
            log_mb=20,
        ),
        environment={
            "BASELINE_TIME_LIMIT": str(time_limit),
            "BASELINE_NUM_CPUS": "2",
            "BASELINE_MEMORY_LIMIT_GB": f"{MEMORY_MB * 1024 * 1024 * AG_MEMORY_SHARE / 1e9:.2f}",
            "PYTHONUNBUFFERED": "1",
            "OMP_WAIT_POLICY": "PASSIVE",
            "OMP_NUM_THREADS": "2",
            "OPENBLAS_NUM_THREADS": "2",
            "MKL_NUM_THREADS": "2",
            "LOKY_MAX_CPU_COUNT": "2",
            **(extra or {}),
        },
    )
    result = BubblewrapBackend().run(job)
    written = out / "result.json"
    report = json.loads(written.read_text()) if written.is_file() else {}
    if not result.ok:
        print(
            f"{task.parent.name}: the baseline failed: {result.message}\n{result.log_tail[-2000:]}",
            flush=True,
        )
        report["error"] = report.get("error") or result.message
    report["cpu_seconds"] = result.cpu_seconds
    return report, result.seconds


def scores(meta: dict, std: Path, predictions: bytes) -> dict[str, float]:
    """The primary metric on each split, and OPIS on all rows where it applies."""
    kind = kind_get(meta["kind"])
    solution = load_solution(
        std / "task" / "private" / "solution.parquet",
        kind=meta["kind"],
        classes=list(meta.get("classes") or []),
        options=kind.solution_options(meta),
    )
    primary = meta.get("primary_metric") or kind.primary
    metrics = score_file(io.BytesIO(predictions), solution).scores()
    out = {split: metrics[split].get(primary) for split in ("public", "private", "all")}
    return {**out, "opis": metrics["all"].get("opis")}


def trivial(meta: dict, std: Path) -> bytes:
    """The trivial reference's submission (scoring.services.references.trivial_submission)."""
    kind = kind_get(meta["kind"])
    solution = load_solution(
        std / "task" / "private" / "solution.parquet",
        kind=meta["kind"],
        classes=list(meta.get("classes") or []),
        options=kind.solution_options(meta),
    )
    labels = pq.read_table(std / "task" / "train.parquet", columns=["label"]).column("label")
    columns = {"id": solution.ids} | kind.trivial(labels, solution)
    out = io.BytesIO()
    pacsv.write_csv(pa.table(columns), out)
    return out.getvalue()


def compare(first: Path, second: Path) -> tuple[float, bool]:
    """(share of rows with the same prediction, every column bit-for-bit the same)."""
    a, b = pd.read_parquet(first), pd.read_parquet(second)
    column = "cluster" if "cluster" in a.columns else "label"
    same = a["id"].equals(b["id"]) and a[column].equals(b[column])
    agreement = 1.0 if same else float(np.mean(a[column].to_numpy() == b[column].to_numpy()))
    return agreement, a.equals(b)


def burners(count: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "-c", BURN], stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(d.slug for d in DEMO_TASKS))
    parser.add_argument("--burners", type=int, default=2, help="CPU burners of the busy run")
    parser.add_argument("--time-limit", type=int, default=1800, help="the safety limit, s")
    parser.add_argument("--work", type=Path, default=None, help="keep the tasks here")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a baseline option as the platform passes it (BASELINE_MAX_TRAIN_ROWS=3000, ...)",
    )
    parser.add_argument("--label", default="idle", help="the run's output folder's name")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    BubblewrapBackend().check()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    cache = work / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    code = baseline_code(work)
    rows = []
    for slug in [s for s in args.tasks.split(",") if s]:
        task, meta = task_folder(slug, work, cache)
        std = work / slug / "std"
        load = os.getloadavg()[0]
        out = work / slug / args.label
        report, seconds = run_baseline(code, task, out, time_limit=args.time_limit, extra=extra)
        if report.get("error"):
            continue
        predictions = (out / "predictions.parquet").read_bytes()
        row = {
            "task": slug,
            "rows": f"{meta['train_rows']:,} / {meta['test_rows']:,}",
            "metric": meta.get("primary_metric"),
            "score": scores(meta, std, predictions),
            "trivial": scores(meta, std, trivial(meta, std)),
            "fit_s": report.get("fit_seconds"),
            "run_s": seconds,
            "cpu_s": report.get("cpu_seconds"),
            "load": load,
            "best": report.get("best_model"),
            "rounds": report.get("rounds"),
            "train_rows_used": report.get("train_rows_used"),
            "options": extra,
            "models_fit_s": model_times(out),
        }
        if args.burners:
            spinning = burners(args.burners)
            try:
                time.sleep(1)
                row["busy_load"] = os.getloadavg()[0]
                busy, busy_s = run_baseline(
                    code, task, work / slug / "busy", time_limit=args.time_limit, extra=extra
                )
            finally:
                for proc in spinning:
                    proc.kill()
                    proc.wait()
            row["busy_fit_s"], row["busy_run_s"] = busy.get("fit_seconds"), busy_s
            if not busy.get("error"):
                row["agreement"], row["identical"] = compare(
                    out / "predictions.parquet",
                    work / slug / "busy" / "predictions.parquet",
                )
                row["same_rounds"] = busy.get("rounds") == report.get("rounds")
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\nmachine: {os.cpu_count()} cores; work folder {work}")
    print(
        "| task | rows (train / test) | metric | public | private | all rows | trivial (all)"
        " | fit s | run s | busy: fit s | agreement | OPIS: baseline / trivial |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s, t = r["score"], r["trivial"]
        busy = f"{r['busy_fit_s']:.0f}" if r.get("busy_fit_s") else "—"
        agree = (
            f"{r['agreement']:.4f}" + (" (identical)" if r["identical"] else "")
            if "agreement" in r
            else "—"
        )
        print(
            f"| {r['task']} | {r['rows']} | {r['metric']} | {s['public']:.4f} |"
            f" {s['private']:.4f} | {s['all']:.4f} | {t['all']:.4f} | {r['fit_s']:.0f} |"
            f" {r['run_s']:.0f} | {busy} | {agree} | {opis(s, t)} |"
        )


def model_times(out: Path) -> dict[str, list[float]]:
    """Model -> [its fit seconds, its validation score], from the run's leaderboard.csv."""
    board = out / "leaderboard.csv"
    if not board.is_file():
        return {}
    frame = pd.read_csv(board)
    return {
        str(r["model"]): [round(float(r["fit_time"]), 1), round(float(r["score_val"]), 4)]
        for _, r in frame.iterrows()
    }


def opis(score: dict, trivial: dict) -> str:
    if score.get("opis") is None or trivial.get("opis") is None:
        return "—"
    return f"{score['opis']:.3f} / {trivial['opis']:.3f}"


if __name__ == "__main__":
    main()
