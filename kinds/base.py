"""What a task kind is: the one class every kind module fills in (``kinds.<name>``).

A kind says, for one shape of task (classification, matching, grouping, ...), everything
the platform's cores would otherwise branch on:

- identity: its ``name`` (``Task.kind``, ``task.yaml``'s ``kind``) and ``label``;
- metrics: every metric it reports with its direction (:class:`Metric`), which of them
  ``task.yaml`` may choose as the primary one and the default;
- the bundle: extra ``task.yaml`` keys (``options``), how labels are checked and stored,
  which feature columns go together, how the test rows are split, what the dataset card
  says about the labels, and what ``task.json`` adds;
- submissions: the column the predictions are in (and the optional ones), how its values
  are read, the metrics per split, whether OPIS applies; what a participant is told of
  them (``public_meta``: ``/task/task.json`` of a run, the task API);
- the boards: the bootstrap statistic of the primary metric (rows, or entities), whether a
  row can be right (flips) and when it is, the trivial reference, and the value a task
  adds to a track's mean; for the champion gate, what a fixed and a broken unit are
  (``gate_flips``, ``flip_units``) and whether McNemar's test applies;
- pages: its templates, ``kinds/<name>/<part>.html`` (the card's label section, the
  submission insight's plots, the submit form's hint), and the charts of its insight.

Kind modules are pure (numpy, pyarrow, ``common``): the metric, ranking and bundle cores
import them, never the reverse. The cores pass plain arrays, or objects shaped like
:class:`Truth` and :class:`Predicted` (the scoring core's ``Solution`` and ``Aligned``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

import numpy as np
import pyarrow as pa

from common.split import public_rows
from kinds.columns import FloatColumns, Probabilities

Direction = Literal["higher", "lower"]
Unit = Literal["row", "entity"]

ExampleIds = Callable[[np.ndarray], str]
"""Given a bool mask over submission rows, "ids 'a', 'b'" for a message."""

Where = Callable[[pa.Array], str]
"""Given a bool mask over a bundle file's rows, "ids 'a', 'b'" (or rows) for a problem."""


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric's name, its label on pages and which way is better: stated once, here."""

    name: str
    label: str
    higher_is_better: bool
    known: bool = True
    # What the metric measures, where its label alone could mislead (a column's tooltip,
    # the API's ``description``); and how its direction reads ("lower is <better_means>").
    description: str = ""
    better_means: str = "better"

    @property
    def direction(self) -> Direction:
        return "higher" if self.higher_is_better else "lower"

    @property
    def sign(self) -> float:
        """+1 when higher is better, -1 when lower is: ``sign * score`` is higher-is-better."""
        return 1.0 if self.higher_is_better else -1.0

    def better(self, a: float, b: float) -> bool:
        """``a`` strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b

    def describe(self) -> dict[str, object]:
        """The JSON description the API gives next to a metric's values."""
        described: dict[str, object] = {
            "label": self.label,
            "direction": self.direction,
            "higher_is_better": self.higher_is_better,
        }
        if self.description:
            described["description"] = self.description
        return described


class Truth(Protocol):
    """The hidden truth as a kind reads it (the scoring core's ``Solution``)."""

    @property
    def y(self) -> np.ndarray: ...

    @property
    def is_public(self) -> np.ndarray: ...

    @property
    def classes(self) -> list[str]: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


class Predicted(Protocol):
    """A submission's values in the truth's row order (the scoring core's ``Aligned``);
    class probabilities as read too (``probabilities``), which sums over rows use."""

    @property
    def pred(self) -> np.ndarray: ...

    @property
    def proba(self) -> np.ndarray | None: ...

    @property
    def probabilities(self) -> Probabilities | None: ...

    @property
    def score(self) -> np.ndarray | None: ...


@dataclass(frozen=True)
class BundleLabels:
    """The labels of a bundle's train and solution files, as the kind's ``bundle_labels``
    gave them, with the files' names for messages."""

    train_name: str
    train: pa.Array
    train_rows: int
    solution_name: str | None = None
    solution: pa.Array | None = None


class Values(NamedTuple):
    """A submission's values as a kind reads them, in the file's row order."""

    pred: np.ndarray
    proba: FloatColumns | None = None  # class j in column j, where Arrow holds them
    score: np.ndarray | None = None


class OpisInputs(NamedTuple):
    """What OPIS (``scoring.core.opis``) is computed from: class probabilities (groups are
    the classes) or a match score (groups from the task's group column)."""

    proba: Probabilities | None = None
    score: np.ndarray | None = None
    classes: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart of a submission's insight: its ``data-role`` on the page and its SVG."""

    role: str
    svg: str


class RowStatistic(ABC):
    """The primary metric of a board as a function of sums over rows, for the bootstrap.

    ``leaderboard.core.bootstrap`` resamples rows (or blocks of rows) and needs, per row,
    a few columns whose weighted sums give every entry's score: ``per_entry`` columns for
    each entry (:meth:`entry_columns`), then ``shared`` columns of the truth alone
    (:meth:`shared_columns`); :meth:`scores` turns the sums into scores. ``integer`` says
    every column holds integers (float32 sums are then exact below 2**24 rows); otherwise
    the sums are float64. ``binary`` says every column holds only 0 or 1 (:meth:`entry_columns`
    and :meth:`shared_columns` then also write into uint8 rows): the bootstrap counts the rows
    of each pattern of columns per group with integers instead of summing float weights (the
    same sums, exactly). One instance serves one bootstrap: :meth:`prepare` may keep what
    the columns need (a shift of the truth).
    """

    per_entry: ClassVar[int] = 1
    shared: ClassVar[int] = 0
    integer: ClassVar[bool] = True
    binary: ClassVar[bool] = False

    def prepare(
        self, y: np.ndarray, preds: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Check and convert the arrays (e.g. 0/1 to booleans); raise ValueError."""
        return y, [np.asarray(p) for p in preds]

    @abstractmethod
    def entry_columns(self, y: np.ndarray, pred: np.ndarray, out: np.ndarray) -> None:
        """Write one entry's ``per_entry`` columns into ``out`` (per_entry x rows)."""

    def shared_columns(self, y: np.ndarray, out: np.ndarray) -> None:
        """Write the ``shared`` columns of the truth into ``out`` (shared x rows)."""
        return

    def entry_sums(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """One entry's columns summed over the rows (float64, ``per_entry`` of them)."""
        out = np.empty((self.per_entry, y.shape[0]), dtype=np.float64)
        self.entry_columns(y, pred, out)
        return out.sum(axis=1)

    def shared_sums(self, y: np.ndarray) -> np.ndarray:
        """The shared columns summed over the rows (float64, ``shared`` of them)."""
        out = np.empty((self.shared, y.shape[0]), dtype=np.float64)
        self.shared_columns(y, out)
        return out.sum(axis=1)

    @abstractmethod
    def scores(
        self, entry_sums: np.ndarray, shared_sums: np.ndarray, n: float | np.ndarray
    ) -> np.ndarray:
        """Scores (..., entries) from the weighted sums of ``n`` rows: ``entry_sums`` is
        (..., entries, per_entry), ``shared_sums`` (..., shared), ``n`` a number or
        (..., 1). Float64 in, float64 out."""

    def row_linear(self, y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Each row's entry columns weighted by ``weights`` (``per_entry`` of them): the
        row's term of a linear function of the sums (the Ladder's per-row losses,
        ``leaderboard.core.ladder``), float64. A statistic with many columns (one per class)
        overrides it with what is nonzero."""
        out = np.empty(y.shape[0], dtype=np.float64)
        step = max(1, 2**22 // max(1, self.per_entry))
        columns = np.empty((self.per_entry, min(step, y.shape[0])), dtype=np.float64)
        for r0 in range(0, y.shape[0], step):
            r1 = min(y.shape[0], r0 + step)
            part = columns[:, : r1 - r0]
            self.entry_columns(y[r0:r1], pred[r0:r1], part)
            # Column by column, not ``weights @ part``: a BLAS call for a few columns costs
            # its threads' start, milliseconds on a busy host.
            into = out[r0:r1]
            np.multiply(part[0], weights[0], out=into)
            for j in range(1, self.per_entry):
                into += weights[j] * part[j]
        return out


class EntityStatistic(ABC):
    """The primary metric of a board whose unit is the entity (``y`` holds each record's
    entity): the bootstrap draws entities, and the kind scores the drawn copies."""

    def paired_linearization(
        self, *, entities: np.ndarray, n_entities: int, new: np.ndarray, old: np.ndarray
    ) -> tuple[float, np.ndarray] | None:
        """The Ladder's figures of two entries on the same records
        (``leaderboard.core.ladder``): the first-order change of the score from ``old`` to
        ``new``, and each entity's influence on that change under the entity bootstrap
        (their spread is its standard error); None when the kind has no linearization."""
        return None

    @abstractmethod
    def resample_scores(
        self,
        *,
        entities: np.ndarray,
        n_entities: int,
        clusters: Sequence[np.ndarray],
        draws: Any,
        n_resamples: int,
        chunk_bytes: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Point scores (entries) and resample scores (resamples x entries)."""


class TaskKind(ABC):
    """One task kind. Subclass it in ``kinds/<name>.py`` and list it in ``kinds.registry``."""

    name: ClassVar[str]
    label: ClassVar[str]  # "k-way classification": how pages name the kind
    hint: ClassVar[str] = ""  # after the name in the unknown-kind message ("" leads it)
    metrics: ClassVar[tuple[Metric, ...]]  # every metric it may report (OPIS/flips aside)
    selectable: ClassVar[tuple[str, ...]]  # what task.yaml's ``metric`` may choose
    primary: ClassVar[str]  # the default primary metric
    prediction_column: ClassVar[str] = "label"  # the submission's column besides ``id``
    label_meaning: ClassVar[str] = "class name"  # what ``label`` holds, for the card
    label_dtype: ClassVar[str] = "string"  # pandas dtype of the standardized label
    has_classes: ClassVar[bool] = True  # the labels form a class list (Task.classes)
    unit: ClassVar[Unit] = "row"  # what the split and the bootstrap draw
    flips: ClassVar[bool] = True  # a row can be right or wrong (flips, the insight)
    opis_group_column: ClassVar[bool] = False  # task.yaml may name opis.group_column
    opis_note: ClassVar[str] = " have no scores"  # why not, after "<kind> tasks"
    options: ClassVar[tuple[str, ...]] = ()  # task.yaml keys of this kind only
    track_metrics: ClassVar[tuple[str, ...]] = ()  # the other metrics track_value reads
    insight_note: ClassVar[str] = ""  # shown instead of the insight when there is none
    right_means: ClassVar[str] = "its label equals the truth"  # when a row is right (flips)
    # The champion gate (docs/organizers/champion-gate.md): what one flip counts ("row", "pair",
    # "entity") and whether the outputs are labels, so that McNemar's exact test on the
    # fixed and broken units may show an improvement.
    flip_noun: ClassVar[str] = "row"
    mcnemar: ClassVar[bool] = True
    track_note: ClassVar[str] = ""  # how the task counts in its track, when not its score
    # Figures of a submission's predictions besides its metrics, on boards
    # (docs/organizers/stress.md): matching's ``transitivity_violations``.
    consistency_columns: ClassVar[tuple[str, ...]] = ()
    # What the import's leak probe asks a model of the ids and row order to predict from
    # train's labels: "classes", "number", or None (no probe: grouping's entity ids).
    leak_probe: ClassVar[str | None] = "classes"

    # --- task.yaml ---------------------------------------------------------------------

    def read_options(self, data: Mapping[Any, Any], problems: list[str]) -> dict[str, Any]:
        """The kind's own ``task.yaml`` keys (``options``), checked; problems appended."""
        return {}

    # --- the bundle --------------------------------------------------------------------

    def column_group(self, column: str) -> str:
        """The group a feature column is typed with (a matching pair shares one type)."""
        return column

    def check_features(self, file_name: str, features: list[str], problems: list[str]) -> None:
        """Problems with the feature columns' names (matching: left_/right_ pairs)."""
        return

    def bundle_labels(
        self, raw: pa.Array, text: pa.Array, *, file_name: str, where: Where, problems: list[str]
    ) -> pa.Array:
        """The labels of train or solution in their standard form (``label_dtype`` as
        Arrow), after the rules of the kind; ``text`` is ``raw`` as text (empty labels are
        already refused). Problems are appended; the result may then be anything. By
        default the labels are text (class names, entity ids)."""
        return text

    def bundle_classes(
        self, labels: BundleLabels, problems: list[str], warnings: list[str]
    ) -> tuple[str, ...]:
        """The task's classes from train and solution (empty for kinds without any), and
        the problems and warnings of the two files' labels together."""
        return ()

    def public_rows(self, labels: pa.Array, *, public_fraction: float, seed: int) -> np.ndarray:
        """True per public test row (``common.split``), from the solution's labels."""
        return public_rows(labels, public_fraction=public_fraction, seed=seed)

    def task_meta(self, options: Mapping[str, Any], train_labels: pa.Array) -> dict[str, Any]:
        """Keys the kind adds to ``task.json`` (and so to ``Task.meta``)."""
        return {}

    @abstractmethod
    def card_labels(self, train_labels: pa.Array) -> dict[str, Any]:
        """What the dataset card says about the training labels (JSON values)."""

    def card_view(self, card: Mapping[str, Any]) -> dict[str, Any]:
        """What the kind's card templates read of a stored card (``card_stats``, ``card``):
        at least ``label_distinct``, the distinct labels of train."""
        return {"label_distinct": len(card.get("class_balance") or [])}

    # --- the truth and a submission ----------------------------------------------------

    def solution_classes(self, classes: Sequence[object]) -> list[str]:
        """The task's classes as the solution uses them; ValueError if unusable."""
        classes = [str(c) for c in classes]
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError(f"classes must be at least two distinct names, not {classes}")
        return classes

    def solution_options(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        """The options scoring needs, from the task's ``task.json`` (``Task.meta``)."""
        return {}

    def output_columns(self) -> list[str]:
        """The columns every prediction file must have."""
        return ["id", self.prediction_column]

    def optional_output_columns(self, classes: Sequence[str]) -> list[str]:
        """The columns a prediction file may add (probabilities, scores), for ``classes``."""
        return []

    def public_meta(self, meta: Mapping[str, Any], classes: Sequence[str]) -> dict[str, Any]:
        """What a participant is told besides the task's common fields, so that a program
        can write a valid prediction file and knows how rows are judged: the file's
        ``output_columns`` and ``optional_output_columns``, and the kind's own
        ``task.yaml`` options (``options``) as the import resolved them in ``meta``
        (``Task.meta``; regression's ``tolerance``). Every value is public: options come
        from ``task.yaml`` or the train labels, never from the solution."""
        return {
            "output_columns": self.output_columns(),
            "optional_output_columns": self.optional_output_columns(classes),
            **self.public_options(meta),
        }

    def public_options(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        """The kind's own ``task.yaml`` options as the import resolved them in ``meta``."""
        return {key: meta[key] for key in self.options if key in meta}

    @abstractmethod
    def truth(self, labels: pa.ChunkedArray, classes: list[str]) -> np.ndarray:
        """``y`` of the solution's labels; ValueError if the file does not fit."""

    @abstractmethod
    def read_values(
        self, table: pa.Table, *, classes: list[str], example_ids: ExampleIds
    ) -> Values:
        """The submission's values (``prediction_column`` and the optional ones), checked:
        ``common.refusals.SubmissionInvalid`` says what is wrong."""

    @abstractmethod
    def metric_names(self, *, scores_given: bool, opis_groups: bool = False) -> list[str]:
        """The metrics a submission gets, in order (``scores_given``: probabilities or
        scores were given; ``opis_groups``: the task names an OPIS group column)."""

    @abstractmethod
    def evaluate(self, aligned: Predicted, truth: Truth) -> dict[str, dict[str, float]]:
        """``{"all"|"public"|"private": {metric: value}}`` (OPIS aside); a split without
        rows gets an empty dict."""

    def opis_inputs(self, aligned: Predicted, truth: Truth) -> OpisInputs | None:
        """What OPIS is computed from, or None when it does not apply."""
        return None

    @abstractmethod
    def handed_problem(self, values: Values, *, rows: int, classes: Sequence[str]) -> str | None:
        """What is wrong with predictions handed over as arrays instead of a file (a run's
        output check read the file; ``scoring.core.handed``), in words, or None: only arrays
        and values that :meth:`read_values` could have given pass (``pred``'s codes or
        numbers in range, the optional ``proba``/``score`` as this kind reads them). The
        shapes (``rows`` values each, ``proba`` one column per class) are checked before.
        Helpers: ``kinds.handed``."""

    # --- boards ------------------------------------------------------------------------

    def metric(self, name: str) -> Metric:
        """This kind's metric ``name`` (KeyError when it has none of that name)."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def rows_right(self, y: np.ndarray, pred: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
        """Per row, whether the prediction is right (docs/architecture.md §11: equal to
        the truth)."""
        return np.asarray(pred) == np.asarray(y)

    def gate_flips(
        self, y: np.ndarray, new: np.ndarray, champion: np.ndarray, options: Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The champion gate's flips, per row: ``(fixed, broken)``, where ``new`` is right and
        ``champion`` was wrong, and the reverse. By default a row is right as
        :meth:`rows_right` says (its label equals the truth)."""
        right = np.asarray(self.rows_right(y, new, options), dtype=bool)
        was_right = np.asarray(self.rows_right(y, champion, options), dtype=bool)
        return right & ~was_right, was_right & ~right

    def outputs_differ(self, new: np.ndarray, champion: np.ndarray) -> np.ndarray:
        """Per row, whether two entries' outputs differ, whatever the truth (the release
        check's disclosure rule counts these rows; docs/organizers/disclosure.md). By default the
        predictions are compared as values."""
        return np.asarray(new) != np.asarray(champion)

    def flip_units(self, y: np.ndarray) -> np.ndarray | None:
        """The unit a gate's flip counts, as a code per row (rows of one unit flip
        together); None: every row is a unit of its own."""
        return None

    def statistic(self, metric: str) -> RowStatistic | EntityStatistic | None:
        """The bootstrap statistic of ``metric`` (None: the board gets no intervals)."""
        return None

    def ladder_statistic(
        self, metric: str, *, classes: Sequence[str]
    ) -> RowStatistic | EntityStatistic | None:
        """The statistic the public board's ladder modes decide with (docs/organizers/ladder.md),
        for a task of ``classes``: by default the bootstrap's (:meth:`statistic`); None: the ladder
        modes cannot run on ``metric`` (the board stays plain)."""
        return self.statistic(metric)

    def shown_metrics(
        self, metric: str, shown: float, exact: Mapping[str, Any]
    ) -> dict[str, float]:
        """The metrics a ladder board stores for an entry whose exact public metrics are
        ``exact`` and whose shown score of ``metric`` is ``shown``: the shown score and
        what the track's mean reads (``track_metrics``), moved with it, never an exact one."""
        return {metric: shown}

    def track_value(self, metric: str, score: float, metrics: Mapping[str, Any]) -> float | None:
        """What the task adds to its track's mean for a board score of ``metric``: a
        higher-is-better number on the scale of the other kinds' primaries (0 = nothing
        gained, 1 = perfect). ``metrics`` are the entry's metrics on that split (those named
        in ``track_metrics`` are always there when the caller has them)."""
        return score

    @abstractmethod
    def trivial(self, train_labels: pa.ChunkedArray, truth: Truth) -> dict[str, pa.Array]:
        """The columns (besides ``id``) of the trivial reference's submission, one value
        per row of ``truth`` (its classes and options), from the train labels."""

    # --- stress runs and consistency (docs/organizers/stress.md) --------------------------------

    def stress_families(self) -> Mapping[str, Any]:
        """The kind's stress families by name (``kinds.stress.StressFamily``), each a pure
        function in the kind's own module; none: the kind gets no stress runs."""
        return {}

    def consistency_context(self, features: pa.Table, columns: Sequence[tuple[str, str]]) -> Any:
        """What :meth:`consistency` needs of the test ``features`` (``columns``: the task's
        ``(name, type)``), computed once for every entry of a board (matching: each pair's
        two record numbers)."""
        return None

    def consistency(self, context: Any, pred: np.ndarray) -> dict[str, float | None]:
        """The :attr:`consistency_columns` of predictions ``pred`` (in the test file's row
        order), with :meth:`consistency_context`'s ``context``."""
        return {}

    # --- pages -------------------------------------------------------------------------

    def template(self, part: str) -> str:
        """The template of a page part: ``card_stats`` and ``card`` (the dataset card's
        figures and its label section), ``insight`` (a submission's plots) or
        ``submit_hint`` (what a prediction file holds)."""
        return f"kinds/{self.name}/{part}.html"

    def digest(self, aligned: Predicted, truth: Truth, mask: np.ndarray | None) -> dict[str, Any]:
        """What the submission's page shows of its rows in ``mask``, as JSON values."""
        return {}

    def charts(self, digest: Mapping[str, Any], *, classes: Sequence[str]) -> list[Chart]:
        """The insight's charts of one split's :meth:`digest`."""
        return []

    def __repr__(self) -> str:
        return f"<task kind {self.name}>"
