"""A challenge's run budget as stored (``Challenge.run_budget``): its keys and their check.

What the budget does to runs lives with the runs (:mod:`algorithms.services.run_budget`);
this module only says what a valid budget is, so the model field, the admin and the runs
read it one way (docs/decisions/0074-the-demo-settles-on-a-budget.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

KEYS = ("train_rows", "stress_rows", "without_models")
ROW_KEYS = ("train_rows", "stress_rows")
# The AutoGluon baseline's model types (``algorithms/builtin/autogluon/budget.py``'s MODELS,
# which the platform may not import: a test keeps the two lists equal).
MODEL_TYPES = ("GBM", "CAT", "XGB", "RF", "XT")
# The smallest sample a budget may ask for: below it a rare class would keep a handful of
# rows and the figures of a stress family a few dozen copies.
MIN_ROWS = 100


class RunBudgetInvalid(ValueError):
    """A run budget that cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class RunBudget:
    """A challenge's run budget; None: the platform's setting.

    ``train_rows``: the AutoGluon baseline (and its stress runs) fits on a stratified sample of
    at most this many train rows. ``stress_rows``: a stress test set holds at most this many
    perturbed copies, each family keeping its share. ``without_models``: model types the
    baseline leaves out of its portfolio (one whose fit costs far more than it adds)."""

    train_rows: int | None = None
    stress_rows: int | None = None
    without_models: tuple[str, ...] = ()


def run_budget_parse(*, value: Any) -> RunBudget:
    """The budget in ``value``; :class:`RunBudgetInvalid` names the first key that is unknown
    or not a whole number of at least :data:`MIN_ROWS`."""
    if value in (None, ""):
        return RunBudget()
    if not isinstance(value, dict):
        raise RunBudgetInvalid('a run budget is a JSON object, e.g. {"train_rows": 3000}')
    unknown = sorted(str(key) for key in set(value) - set(KEYS))
    if unknown:
        raise RunBudgetInvalid(f"unknown key '{unknown[0]}'; the keys are {', '.join(KEYS)}")
    for key in ROW_KEYS:
        number = value.get(key, MIN_ROWS)
        if isinstance(number, bool) or not isinstance(number, int) or number < MIN_ROWS:
            raise RunBudgetInvalid(f"'{key}' must be a whole number of at least {MIN_ROWS}")
    models = value.get("without_models", [])
    if not isinstance(models, list) or not all(m in MODEL_TYPES for m in models):
        raise RunBudgetInvalid(
            f"'without_models' must be a list of model types among {', '.join(MODEL_TYPES)}"
        )
    if set(models) >= set(MODEL_TYPES):
        raise RunBudgetInvalid("'without_models' would leave the baseline no model to fit")
    return RunBudget(
        train_rows=value.get("train_rows"),
        stress_rows=value.get("stress_rows"),
        without_models=tuple(sorted(set(models))),
    )


def run_budget_validate(value: Any) -> None:
    """The model field's validator: a ValidationError with the reason (admin, full_clean)."""
    try:
        run_budget_parse(value=value)
    except RunBudgetInvalid as exc:
        raise ValidationError(str(exc), code="invalid_run_budget") from exc
