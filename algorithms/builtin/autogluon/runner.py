"""Fit an AutoGluon baseline on one standardized task folder and write a submission.

The baseline is an algorithm (docs/architecture.md §9): ``main.py``, its entrypoint, runs
this in the sandbox with ``--task-dir /task --out-dir /output`` and the options from its
environment. No Django and no platform package here: only this folder and the locked environment.
Run by hand with ``python main.py`` from a folder holding ``autogluon_baseline/``, or::

    python -c 'import sys; from autogluon_baseline.runner import main; sys.exit(main())' \\
        --task-dir DIR --out-dir DIR --time-limit 1800 --presets medium_quality

**The work is fixed** (:mod:`.budget`): the same models, rounds, seeds and threads on an
idle or a busy machine, so a re-run gives the same predictions. ``--time-limit`` is only a
safety net: a baseline not finished by then fails with the reason (exit 1), as does one
that AutoGluon would have fitted less of for lack of memory (:mod:`.guard`).

Writes into ``--out-dir``:

- ``predictions.parquet``, as the task's kind says (one module per kind, ``kinds/``):
  ``id``, ``label`` and ``proba_<class>`` for every class in task.json order
  (classification) or ``score`` in [0, 1] (matching); ``id`` and a float64 ``label``
  (regression); ``id`` and ``cluster`` (grouping);
- ``leaderboard.csv``: AutoGluon's model leaderboard;
- ``fit.log``: AutoGluon's log and ours;
- ``result.json``: status, timings, best model, validation score, presets, time limit,
  seed, threads, the rounds (or trees) each model kept, features used (see
  :func:`_result_skeleton`).

``--pack-model`` also writes ``model.tar`` (the best model and the inputs it was fitted on,
for the run's stress run); ``--model-from TAR`` loads such a model instead of fitting when
it was fitted on this run's very inputs, and fits as usual otherwise (:mod:`.kept`).

Exit codes: 0 success, 1 fit or predict failed, 2 invalid arguments or task folder,
143 terminated by SIGTERM (or SIGINT). On failure the last stderr line is a one-line reason.
The model directory is deleted at the end unless ``--keep-model``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import budget, kept
from .data import TaskError, TaskFileError, read_train, test_batches, test_rows
from .fitting import (
    excluded_model_types,
    feature_metadata,
    fit,
)
from .kinds import BaselineKind, kind_named
from .outputs import (
    FIT_LOG,
    LEADERBOARD,
    MODEL_DIR,
    PREDICTIONS,
    RESULT,
    WRITTEN,
    one_line,
    write_json_atomic,
)

if TYPE_CHECKING:  # heavy imports happen in main(), after the thread limits are set
    import pandas as pd

LOG = logging.getLogger("autogluon_baseline")

COLUMN_TYPES = ("text", "numeric", "categorical", "image")
EXIT_FAILED, EXIT_INVALID, EXIT_TERMINATED = 1, 2, 143
# AutoGluon's memory budget when none is given: its memory checks then read this, never the
# host's free memory (which other processes change from one run to the next).
DEFAULT_MEMORY_LIMIT_GB = 4.0


class Terminated(BaseException):
    """Raised by the SIGTERM handler; a BaseException so AutoGluon cannot swallow it."""


class DeadlinePassed(BaseException):
    """Raised when ``--time-limit`` passes (the safety net); a BaseException so AutoGluon
    cannot swallow it."""


_deadline = {"passed": False}


@dataclass(frozen=True)
class TaskSpec:
    """What the runner needs from task.json."""

    slug: str
    kind: str
    columns: tuple[tuple[str, str], ...]
    classes: tuple[str, ...]

    @property
    def types(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def handler(self) -> BaselineKind:
        """What the baseline does for this task's kind (``kinds/<kind>.py``)."""
        return kind_named(self.kind)


def load_task(task_dir: Path) -> TaskSpec:
    """Read and check task.json."""
    path = task_dir / "task.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TaskError(f"no task.json in {task_dir}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TaskError(f"task.json is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise TaskError("task.json must hold an object")
    kind = meta.get("kind")
    handler = kind_named(kind)  # TaskError for a kind no module of kinds/ is named after
    columns = []
    for col in meta.get("columns") or []:
        name, ctype = (col or {}).get("name"), (col or {}).get("type")
        if not isinstance(name, str) or ctype not in COLUMN_TYPES:
            raise TaskError(f"task.json column {col!r}: need a name and a type in {COLUMN_TYPES}")
        columns.append((name, ctype))
    if not columns:
        raise TaskError("task.json lists no feature columns")
    classes = handler.classes(tuple(str(c) for c in meta.get("classes") or []))
    return TaskSpec(str(meta.get("slug", task_dir.name)), kind, tuple(columns), classes)


def frame_features(
    spec: TaskSpec, frame: pd.DataFrame, archive: Any, *, workers: int
) -> tuple[pd.DataFrame, list[str]]:
    """Model inputs of one frame (train, or a batch of test rows), without id and label,
    and the names of its text columns, as the task's kind builds them."""
    return spec.handler.features(spec, frame, archive, workers=workers)


def _setup_logging(log_path: Path) -> logging.Handler:
    """One file handler for AutoGluon's logger and ours; AutoGluon's console output is
    limited to warnings so that stderr stays readable."""
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    ag_logger = logging.getLogger("autogluon")
    for existing in ag_logger.handlers:
        if not isinstance(existing, logging.FileHandler):
            existing.setLevel(logging.WARNING)
    ag_logger.addHandler(handler)
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    return handler


def _result_skeleton(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "status": "running",
        "error": None,
        "task": None,
        "kind": None,
        "problem_type": None,
        "eval_metric": None,
        "presets": args.presets,
        "time_limit": args.time_limit,
        "num_cpus": args.num_cpus,
        "memory_limit_gb": args.memory_limit_gb,
        **budget.fixed_work(),
        "feature_seconds": None,
        "fit_seconds": None,
        "predict_seconds": None,
        "best_model": None,
        "validation_score": None,
        "decision_threshold": None,
        "features_used": [],
        "text_features": [],
        "n_generated_features": None,
        "models": [],
        "rounds": {},
        "models_failed": [],
        "excluded_model_types": [],
        "train_rows": None,
        "train_rows_used": None,
        "max_train_rows": None,
        "predict_batch_rows": None,
        "test_rows": None,
        "autogluon_version": None,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "finished_at": None,
    }


def fit_and_predict(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """The baseline proper; fills ``result`` as it goes."""
    from autogluon.tabular import __version__ as ag_version

    from . import features

    task_dir = args.task_dir
    spec = load_task(task_dir)
    kind = spec.handler
    result["autogluon_version"] = ag_version
    handed = args.pack_model or args.model_from is not None
    args.fit_inputs = kept.fit_inputs(args) if handed else None
    if kind.run is not None:  # a kind that does not predict row by row (grouping)
        fitted: list[Any] = []

        def fit(x: pd.DataFrame, y: pd.Series, **kw: Any) -> Any:
            fitted.append(
                fit_predictor(args, result, x, y, stop_on_log_loss=kind.stop_on_log_loss, **kw)
            )
            return fitted[-1]

        kind.run(args, result, spec, fit=fit)
        if len(fitted) == 1:
            kept.pack_if_asked(args, result, fitted[0])
        return
    assert kind.train_labels and kind.problem  # BaselineKind checks a row-by-row kind has them
    needed = ["id", *spec.types]
    train, train_total = read_train(
        task_dir / "train.parquet",
        [*needed, "label"],
        max_rows=args.max_train_rows,
        strata=kind.strata,
    )
    n_test = test_rows(task_dir / "test.parquet", needed)
    if train["label"].isna().any():
        raise TaskError("train.parquet has missing labels")
    labels = kind.train_labels(train["label"])
    problem_type, eval_metric = kind.problem(spec, labels)
    result.update(
        task=spec.slug,
        kind=spec.kind,
        problem_type=problem_type,
        eval_metric=eval_metric,
        train_rows=train_total,
        train_rows_used=len(train),
        max_train_rows=args.max_train_rows or None,
        test_rows=n_test,
        predict_batch_rows=args.predict_batch_rows,
        autogluon_version=ag_version,
    )
    LOG.info(
        "baseline: %s task %r, %d train rows (%d used%s) / %d test rows",
        spec.kind,
        spec.slug,
        train_total,
        len(train),
        ", a stratified sample" if len(train) < train_total else "",
        n_test,
    )

    started = time.perf_counter()
    archive = features.open_images(task_dir / "images.zip")
    # Categorical columns reach AutoGluon as strings, as in a plain TabularPredictor.fit:
    # its own pipeline fills a missing value with "" (a category of its own) and maps a test
    # batch's values on the train's categories (one unseen in train is missing).
    train_x, text_cols = frame_features(spec, train, archive, workers=args.num_cpus)
    del train
    result["feature_seconds"] = round(time.perf_counter() - started, 3)
    LOG.info(
        "baseline: built %d input features in %.1f s",
        train_x.shape[1],
        result["feature_seconds"],
    )
    predictor = fit_predictor(
        args,
        result,
        train_x,
        labels,
        text_cols=text_cols,
        problem_type=problem_type,
        eval_metric=eval_metric,
        stop_on_log_loss=kind.stop_on_log_loss,
    )
    best = predictor.model_best

    started = time.perf_counter()
    del train_x
    written = _predict_in_batches(args, spec, predictor, archive)
    result["predict_seconds"] = round(time.perf_counter() - started, 3)
    LOG.info(
        "baseline: best model %s, validation %s %.4f; predicted %d rows in %.1f s",
        best,
        eval_metric,
        result["validation_score"] or float("nan"),
        written,
        result["predict_seconds"],
    )
    kept.pack_if_asked(args, result, predictor)


def fit_predictor(
    args: argparse.Namespace,
    result: dict[str, Any],
    train_x: pd.DataFrame,
    labels: pd.Series,
    *,
    text_cols: list[str],
    problem_type: str,
    eval_metric: str,
    stop_on_log_loss: bool = True,
) -> Any:
    """Fit AutoGluon on ``train_x`` (CPU model types only); fills ``result``, writes
    leaderboard.csv and returns the predictor (the clean run's, loaded, when it was handed
    over: ``--model-from``). Shared by every kind of task."""
    metadata = feature_metadata(train_x, text_cols)
    excluded = excluded_model_types()
    left_out = budget.left_out(args.without_models)
    result.update(
        features_used=list(train_x.columns),
        text_features=text_cols,
        excluded_model_types=excluded,
        models_left_out=sorted(left_out),
    )

    predictor = kept.load_if_handed(args, result)
    if predictor is None:
        predictor = fit(
            args,
            result,
            train_x,
            labels,
            metadata=metadata,
            excluded=excluded,
            left_out=left_out,
            problem_type=problem_type,
            eval_metric=eval_metric,
            stop_on_log_loss=stop_on_log_loss,
        )
    board = predictor.leaderboard(silent=True)
    board.to_csv(args.out_dir / LEADERBOARD, index=False)
    best = predictor.model_best
    best_rows = board.loc[board["model"] == best, "score_val"]
    threshold = float(predictor.decision_threshold) if problem_type == "binary" else 0.5
    result.update(
        best_model=best,
        validation_score=float(best_rows.iloc[0]) if len(best_rows) else None,
        decision_threshold=threshold if problem_type == "binary" else None,
        models=list(board["model"]),
        rounds=budget.trained_rounds(predictor.info().get("model_info") or {}),
        n_generated_features=len(predictor.feature_metadata.get_features()),
    )

    return predictor


def _predict_in_batches(
    args: argparse.Namespace, spec: TaskSpec, predictor: Any, archive: Any
) -> int:
    """Features and predictions ``--predict-batch-rows`` test rows at a time, appended to
    predictions.parquet; returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    predict = spec.handler.predict
    assert predict is not None  # a row-by-row kind (BaselineKind checks it)
    needed = ["id", *spec.types]
    writer = None
    written = 0
    try:
        for batch in test_batches(
            args.task_dir / "test.parquet", needed, batch_rows=args.predict_batch_rows
        ):
            test_x, _ = frame_features(spec, batch, archive, workers=args.num_cpus)
            submission = predict(spec, batch["id"], predictor, test_x)
            table = pa.Table.from_pandas(submission, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(args.out_dir / PREDICTIONS, table.schema)
            writer.write_table(table)
            written += len(submission)
            LOG.info("baseline: predicted %d rows", written)
    finally:
        if writer is not None:
            writer.close()
        if archive is not None and hasattr(archive, "close"):
            archive.close()
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autogluon_baseline.runner", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--task-dir", type=Path, required=True)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument(
        "--time-limit",
        type=float,
        default=1800.0,
        help="safety limit, seconds: a baseline not finished by then fails (it never fits"
        " less to finish in time; its work is fixed, see budget.py)",
    )
    parser.add_argument("--presets", default="medium_quality")
    parser.add_argument(
        "--num-cpus",
        type=int,
        default=min(2, len(os.sched_getaffinity(0))),
        help="cores AutoGluon may use (default: at most 2)",
    )
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=DEFAULT_MEMORY_LIMIT_GB,
        help="AutoGluon's soft memory limit (its memory checks read this, not the host's)",
    )
    parser.add_argument("--keep-model", action="store_true", help="keep the model directory")
    parser.add_argument(
        "--pack-model",
        action="store_true",
        help=f"write the best model and its inputs to {kept.MODEL_TAR} (for the stress run)",
    )
    parser.add_argument(
        "--model-from",
        type=Path,
        default=None,
        help=f"a {kept.MODEL_TAR} to load instead of fitting, when fitted on these very inputs",
    )
    parser.add_argument(
        "--max-train-rows",
        type=int,
        default=0,
        help="train on a stratified sample of this many rows when train is larger (0: all)",
    )
    parser.add_argument(
        "--predict-batch-rows", type=int, default=100_000, help="test rows predicted at a time"
    )
    parser.add_argument(
        "--without-models",
        default="",
        help="model types of budget.MODELS left out, comma-separated (e.g. CAT; default none)",
    )
    return parser


def _limit_threads(num_cpus: int) -> None:
    """Cap the native thread pools before numpy, LightGBM & co. are imported, and let idle
    OpenMP threads sleep rather than spin: on a busy host a spinning thread waits for its
    descheduled peers (LightGBM measured 10-20x slower at load 5 on 2 cores)."""
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_MAX_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    ):
        os.environ.setdefault(var, str(num_cpus))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")


def _on_deadline(signum: int, frame: object) -> None:
    _deadline["passed"] = True
    raise DeadlinePassed()


def _deadline_reason(args: argparse.Namespace) -> str:
    return (
        f"the baseline did not finish within its safety limit of {args.time_limit:g} s"
        " (BASELINE_TIME_LIMIT); its work is fixed (the same models and rounds on every run),"
        " so it fails rather than fit less: raise the limit, or run it on a less busy worker"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if (
        args.time_limit <= 0
        or args.num_cpus < 1
        or args.predict_batch_rows < 1
        or args.memory_limit_gb <= 0
    ):
        print(
            "baseline failed: --time-limit, --num-cpus, --predict-batch-rows and"
            " --memory-limit-gb must be positive",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        budget.left_out(args.without_models)
    except ValueError as exc:
        print(f"baseline failed: --without-models: {exc}", file=sys.stderr)
        return EXIT_INVALID
    _limit_threads(args.num_cpus)
    _deadline["passed"] = False
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (*WRITTEN, kept.MODEL_TAR):
        (args.out_dir / stale).unlink(missing_ok=True)
    result = _result_skeleton(args)
    write_json_atomic(args.out_dir / RESULT, result)
    handler = _setup_logging(args.out_dir / FIT_LOG)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGALRM, _on_deadline)
    signal.setitimer(signal.ITIMER_REAL, args.time_limit)
    code, reason = 0, ""
    try:
        fit_and_predict(args, result)
        result["status"] = "succeeded"
    except (Terminated, DeadlinePassed, KeyboardInterrupt):
        # CatBoost turns an exception raised in its callbacks into KeyboardInterrupt.
        if _deadline["passed"]:
            code, reason = EXIT_FAILED, _deadline_reason(args)
            result.update(status="failed", error=reason)
        else:
            code, reason = EXIT_TERMINATED, "terminated by a signal"
            result.update(status="terminated", error=reason)
    except (TaskError, TaskFileError) as exc:
        code, reason = EXIT_INVALID, f"invalid task folder: {one_line(exc)}"
        result.update(status="failed", error=reason)
    except MemoryError:
        code, reason = EXIT_FAILED, "out of memory"
        result.update(status="failed", error=reason)
    except Exception as exc:
        code, reason = EXIT_FAILED, f"{type(exc).__name__}: {one_line(exc)}"
        result.update(status="failed", error=reason)
        LOG.exception("baseline: failed")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGTERM, previous)
        result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if not args.keep_model:
            shutil.rmtree(args.out_dir / MODEL_DIR, ignore_errors=True)
        if code:
            (args.out_dir / PREDICTIONS).unlink(missing_ok=True)
            (args.out_dir / kept.MODEL_TAR).unlink(missing_ok=True)
            LOG.error("baseline: %s", reason)
        write_json_atomic(args.out_dir / RESULT, result)
        handler.close()
    if code:
        print(f"baseline failed: {reason}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
