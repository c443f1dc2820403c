"""AutoGluon's fit of the baseline's fixed budget (:mod:`.budget`): which CPU model types it
may use, the inputs' metadata, and the fit itself, checked by :mod:`.guard`."""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from . import budget, guard
from .outputs import MODEL_DIR

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

LOG = logging.getLogger("autogluon_baseline")

# Model types the baseline may fit, with the modules each needs. Everything else that
# AutoGluon registers (NN_TORCH, FASTAI, REALMLP, TABM, TabPFN, ...) needs torch or other
# heavy extras and is excluded.
CPU_MODEL_DEPS: dict[str, tuple[str, ...]] = {
    "GBM": ("lightgbm",),
    "CAT": ("catboost",),
    "XGB": ("xgboost",),
    "RF": (),
    "XT": (),
    "KNN": (),
    "LR": (),
}
NEVER_EXCLUDED = frozenset({"ENS_WEIGHTED", "SIMPLE_ENS_WEIGHTED", "DUMMY"})


def feature_metadata(train_x: pd.DataFrame, text_cols: Sequence[str]) -> Any:
    """AutoGluon's ``FeatureMetadata`` of the model inputs: each column as pandas types it
    (a categorical or text column is a string column, as in a plain ``TabularPredictor.fit``),
    the declared text columns marked as text."""
    from autogluon.common import FeatureMetadata

    metadata = FeatureMetadata.from_df(train_x)
    if text_cols:
        metadata = metadata.add_special_types({c: ["text"] for c in text_cols})
    return metadata


def allowed_model_types() -> set[str]:
    """The CPU model types whose libraries are installed."""
    return {key for key, mods in CPU_MODEL_DEPS.items() if all(find_spec(m) for m in mods)}


def excluded_model_types() -> list[str]:
    """Every registered AutoGluon model type the baseline must not fit here."""
    from autogluon.tabular.registry import ag_model_registry

    allowed = allowed_model_types() | NEVER_EXCLUDED
    return sorted(key for key in ag_model_registry.keys if key not in allowed)


def fit(
    args: argparse.Namespace,
    result: dict[str, Any],
    train_x: pd.DataFrame,
    labels: pd.Series,
    *,
    metadata: Any,
    excluded: list[str],
    left_out: set[str],
    problem_type: str,
    eval_metric: str,
    stop_on_log_loss: bool,
) -> Any:
    """AutoGluon's fit of the fixed budget (:mod:`.budget`), checked by :mod:`.guard`."""
    from autogluon.tabular import TabularPredictor

    model_dir = args.out_dir / MODEL_DIR
    shutil.rmtree(model_dir, ignore_errors=True)
    train_df = train_x.assign(label=labels.to_numpy())
    predictor = TabularPredictor(
        label="label",
        problem_type=problem_type,
        eval_metric=eval_metric,
        path=str(model_dir),
        verbosity=2,
    )
    ag_args_fit: dict[str, Any] = {"num_cpus": args.num_cpus, "num_gpus": 0}
    if stop_on_log_loss:
        # Early-stop the boosted trees on log loss, not on F1: on a small validation split F1
        # reaches 1.0 after a round or two, the trees stop there with scores near 0.5, and
        # exact duplicates fall on the wrong side of the threshold (dblp-acm: F1 0.949 with
        # F1 stopping, 1.0 with log loss).
        ag_args_fit["stopping_metric"] = "log_loss"
    watch = guard.CutShortWatch().attach()
    started = time.perf_counter()
    try:
        predictor.fit(
            train_df,
            presets=args.presets,
            hyperparameters=budget.hyperparameters(allowed_model_types() - left_out),
            feature_metadata=metadata,
            excluded_model_types=excluded,
            ag_args_fit=ag_args_fit,
            num_cpus=args.num_cpus,
            num_gpus=0,
            memory_limit=args.memory_limit_gb,
            **budget.fit_arguments(),
        )
    finally:
        watch.detach()
    result["fit_seconds"] = round(time.perf_counter() - started, 3)
    LOG.info("baseline: AutoGluon fit took %.1f s", result["fit_seconds"])
    failures = predictor.model_failures()
    result["models_failed"] = guard.failed_models(failures)
    guard.check_fitted(watch, failures)
    return predictor
