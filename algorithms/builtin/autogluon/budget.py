"""The baseline's fixed budget: the same work on an idle or a busy machine.

The baseline is the zero of every delta on the transfer matrix, so a re-run must give the
same predictions. AutoGluon's ``time_limit`` is wall-clock time: on a loaded host it fits
fewer models and fewer boosting rounds (measured at load 5-6 on 2 cores: 5 of 9 models,
CatBoost stopped at iteration 79 instead of 474, accuracy moving by 1.9 points between
re-runs). So nothing here depends on time or on how busy the host is:

- **The models** are AutoGluon 1.6's ``default`` portfolio without its neural networks
  (which need torch): LightGBM three ways (plain, extra trees, "Large"), CatBoost, XGBoost,
  random forests and extra trees (Gini and entropy for classes, squared error for numbers),
  then AutoGluon's weighted ensemble of them. Each is given explicitly with its
  hyperparameters (:data:`MODELS`), so a preset's portfolio never replaces them.
- **The iterations**: LightGBM and XGBoost run at most :data:`BOOSTING_ROUNDS` rounds,
  CatBoost at most :data:`CATBOOST_ITERATIONS` (fixed caps instead of AutoGluon's 10,000),
  each stopping early on the validation split's score only (AutoGluon's patience, a function
  of the row count: 300 rounds up to 10,000 rows); forests grow :data:`FOREST_TREES` trees.
- **No wall clock**: ``time_limit=None``, no dynamic stacking (it sizes a holdout fit by
  the time left), folds fitted one after the other. A preset still decides bagging and
  stacking (``medium_quality``: none), which depend on the data's size, never the time.
- **Seeds**: every model's seed is :data:`SEED`; AutoGluon's holdout split is seeded too.
- **Threads**: a fixed number (``--num-cpus``, the platform gives 2), never "the free
  cores"; LightGBM is told to be deterministic and to build histograms column-wise (by
  default it times both layouts and keeps the faster, a choice the host's load makes).
- **Memory**: AutoGluon's memory checks read ``--memory-limit-gb`` (always set, so they
  never read the host's free memory). When a check would still cut a model short or skip
  it, the run fails with the reason instead of quietly fitting less (:mod:`.guard`).

A wall-clock limit stays only as a safety net (``--time-limit``): a fit that has not
finished by then fails the run with a message; it never makes the baseline fit less.
"""

from __future__ import annotations

from typing import Any

SEED = 0
# Boosting rounds of LightGBM and XGBoost (cheap per round), early-stopped on the validation
# split well before this on the demo tasks (result.json's ``rounds`` gives the rounds kept).
BOOSTING_ROUNDS = 2000
# CatBoost is the slow one (7 classes and 423 text n-gram columns on bird-strikes: 1.3 s per
# iteration at load 14 on 2 cores). With AutoGluon's patience of 300 it would run to ~640
# iterations there (the best is 340); 500 is about what the old 120 s budget reached on an
# idle machine (474), so the demo scores stay those of docs/developers/benchmarks.md's table.
CATBOOST_ITERATIONS = 500
FOREST_TREES = 300
CLASS_PROBLEMS = ["binary", "multiclass"]
NUMBER_PROBLEMS = ["regression", "quantile"]
# LightGBM: the same trees for the same data and threads (LightGBM's own ``deterministic``);
# column-wise histograms, instead of timing both layouts and keeping the faster one.
_LGB_FIXED = {"deterministic": True, "force_col_wise": True, "seed": SEED}


def fixed_work() -> dict[str, int]:
    """The budget's constants, as result.json reports them and a packed model records them."""
    return {
        "seed": SEED,
        "boosting_rounds": BOOSTING_ROUNDS,
        "catboost_iterations": CATBOOST_ITERATIONS,
        "forest_trees": FOREST_TREES,
    }


def _forests(criteria: tuple[tuple[str, str, list[str]], ...]) -> list[dict[str, Any]]:
    return [
        {
            "criterion": criterion,
            "n_estimators": FOREST_TREES,
            "random_state": SEED,
            "ag_args": {"name_suffix": suffix, "problem_types": problems},
        }
        for criterion, suffix, problems in criteria
    ]


_FOREST_CRITERIA = (
    ("gini", "Gini", CLASS_PROBLEMS),
    ("entropy", "Entr", CLASS_PROBLEMS),
    ("squared_error", "MSE", NUMBER_PROBLEMS),
)

# AutoGluon's ``hyperparameters``: model type -> its configurations (AutoGluon 1.6's
# ``default`` portfolio, neural networks left out, rounds and seeds fixed).
MODELS: dict[str, list[dict[str, Any]]] = {
    "GBM": [
        {"extra_trees": True, "num_boost_round": BOOSTING_ROUNDS, **_LGB_FIXED,
         "ag_args": {"name_suffix": "XT"}},
        {"num_boost_round": BOOSTING_ROUNDS, **_LGB_FIXED},
        {"learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9,
         "min_data_in_leaf": 3, "num_boost_round": BOOSTING_ROUNDS, **_LGB_FIXED,
         "ag_args": {"name_suffix": "Large", "priority": 0, "hyperparameter_tune_kwargs": None}},
    ],
    "CAT": [{"iterations": CATBOOST_ITERATIONS, "random_seed": SEED}],
    "XGB": [{"n_estimators": BOOSTING_ROUNDS, "seed": SEED}],
    "RF": _forests(_FOREST_CRITERIA),
    "XT": _forests(_FOREST_CRITERIA),
}  # fmt: skip


def hyperparameters(allowed: set[str]) -> dict[str, list[dict[str, Any]]]:
    """:data:`MODELS` for the model types in ``allowed`` (those whose library is
    installed), as fresh copies AutoGluon may change."""
    import copy

    return {key: copy.deepcopy(configs) for key, configs in MODELS.items() if key in allowed}


def left_out(text: str) -> set[str]:
    """The model types of ``--without-models`` (a platform's run budget: a challenge may leave
    out a type whose fit costs far more than it adds); ValueError for a type not in
    :data:`MODELS`, or one that would leave no model."""
    names = {name.strip() for name in (text or "").split(",") if name.strip()}
    unknown = sorted(names - set(MODELS))
    if unknown:
        raise ValueError(f"unknown model type {unknown[0]!r}; the types are {', '.join(MODELS)}")
    if names >= set(MODELS):
        raise ValueError("--without-models leaves no model to fit")
    return names


def fit_arguments() -> dict[str, Any]:
    """The arguments of ``TabularPredictor.fit`` that fix the work (with the models)."""
    return {
        "time_limit": None,
        "dynamic_stacking": False,
        "ag_args_ensemble": {"fold_fitting_strategy": "sequential_local"},
    }


def trained_rounds(info: dict[str, Any]) -> dict[str, int]:
    """Model name -> the rounds (boosted trees: the best iteration, where it stopped early) or
    trees (forests) it kept, from ``predictor.info()["model_info"]``; the same on every
    re-run of the same data."""
    keys = ("num_boost_round", "iterations", "n_estimators")
    rounds = {}
    for name, model in (info or {}).items():
        fitted = model.get("hyperparameters_fit") or {}
        for key in keys:
            if isinstance(fitted.get(key), int):
                rounds[name] = int(fitted[key])
                break
    return rounds
