"""Fail the run instead of fitting less than the fixed budget (see :mod:`.budget`).

AutoGluon protects a fit from running out of memory or time by quietly doing less: it stops
a boosted model early, grows fewer trees, keeps fewer n-grams, or skips a model, and says so
only in its log. A baseline that did less on one run than on another is not the same
baseline, so :class:`CutShortWatch` listens to AutoGluon's log for those messages (the
exact texts of AutoGluon 1.6, :data:`CUT_SHORT`; a test checks each is still in the
installed AutoGluon), and :func:`check_fitted` turns what it heard, and every model skipped
for memory or time, into a :class:`BudgetCutShort` with the reason.

A model that fails for another reason (the data does not suit it) fails the same way on
every run: it is left out and named in ``result.json`` (``models_failed``), as AutoGluon
does.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# A line of AutoGluon's log -> what it means for the budget.
CUT_SHORT: dict[str, str] = {
    "Ran low on memory, early stopping": "CatBoost stopped early for lack of memory",
    "Ran out of time, early stopping": "a boosted model stopped early for lack of time",
    "Large GBM model size may cause OOM error": "LightGBM stopped early for lack of memory",
    "Low available memory may cause OOM error": "LightGBM stopped early for lack of memory",
    "Large XGB model size may cause OOM error": "XGBoost stopped early for lack of memory",
    "due to low memory": "a forest grew fewer trees for lack of memory",
    "due to low time": "a forest grew fewer trees for lack of time",
    "ngram feature count is being reduced": "fewer text n-grams were kept for lack of memory",
}
# Exceptions for which AutoGluon skips a model: the host's resources, not the data.
SKIPPED_FOR_RESOURCES = {
    "NotEnoughMemoryError": "lack of memory",
    "TimeLimitExceeded": "lack of time",
}
_FITTING = re.compile(r"Fitting model: (\S+)")


class BudgetCutShort(RuntimeError):
    """AutoGluon fitted less than the fixed budget; the message says what and why."""


class CutShortWatch(logging.Handler):
    """Collects, from AutoGluon's log, each model cut short and why (see the module)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.model = "feature generation"
        self.cuts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return
        fitting = _FITTING.search(text)
        if fitting:
            self.model = fitting.group(1).rstrip(".")
        for needle, meaning in CUT_SHORT.items():
            if needle in text:
                cut = f"{self.model}: {meaning}"
                if cut not in self.cuts:
                    self.cuts.append(cut)

    def attach(self) -> CutShortWatch:
        logging.getLogger("autogluon").addHandler(self)
        return self

    def detach(self) -> None:
        logging.getLogger("autogluon").removeHandler(self)


def skipped_for_resources(failures: Any) -> list[str]:
    """``model: reason`` for each model AutoGluon skipped for memory or time, from
    ``predictor.model_failures()`` (a frame with ``model`` and ``exc_type``)."""
    if failures is None or len(failures) == 0:
        return []
    out = []
    for model, exc_type in zip(failures["model"], failures["exc_type"], strict=True):
        if exc_type in SKIPPED_FOR_RESOURCES:
            out.append(f"{model}: skipped for {SKIPPED_FOR_RESOURCES[exc_type]}")
    return out


def check_fitted(watch: CutShortWatch, failures: Any) -> None:
    """:class:`BudgetCutShort` when a model was cut short or skipped for the host's
    resources (``watch`` heard it, or ``failures`` says so)."""
    cuts = [*watch.cuts, *skipped_for_resources(failures)]
    if cuts:
        raise BudgetCutShort(
            "the fixed budget was not fitted in full (" + "; ".join(cuts) + "); the baseline"
            " fails rather than fit less than on another run: give it more memory"
            " (BASELINE_MEMORY_MB) and run it again"
        )


def failed_models(failures: Any) -> list[dict[str, str]]:
    """``[{"model", "error"}]`` of the models AutoGluon left out, for ``result.json``."""
    if failures is None or len(failures) == 0:
        return []
    return [
        {"model": str(model), "error": f"{exc_type}: {' '.join(str(text).split())[:300]}"}
        for model, exc_type, text in zip(
            failures["model"], failures["exc_type"], failures["exc_str"], strict=True
        )
    ]
