"""What can be a champion: a submission, a reference, or an algorithm run scored on itself.

One small value, :class:`Entry`, names any of them the same way for the gate, the pages,
the API (``{"type", "id", "name"}``) and the timeline's rows, and knows how to read its
predictions (aligned with the task's solution) and its scores per split.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from algorithms.models import (
    BENCHMARK_PROFILE,
    ORGANIZER_PROFILE,
    AlgorithmRun,
    AlgorithmRunStatus,
)
from challenges.models import Team
from leaderboard.models import ChampionChange
from scoring.core import Aligned, load_predictions
from scoring.models import Reference, ReferenceSource, Submission, SubmissionStatus
from scoring.reference_selectors import reference_predictions, reference_scores_sealed
from scoring.selectors import User, submission_algorithm

logger = logging.getLogger(__name__)

EntryType = Literal["submission", "reference", "run"]

# Runs whose predictions are scored on the run itself (never a submission): the gate weighs
# them as entries of their own. A team's and the baseline's runs became submissions.
RUN_PROFILES = (ORGANIZER_PROFILE, BENCHMARK_PROFILE)


class EntryUnreadable(Exception):
    """An entry's predictions cannot be read (gone, or another data version's)."""


@dataclass(frozen=True)
class Entry:
    """One entry; ``obj`` is the row (a Submission, a Reference or an AlgorithmRun)."""

    type: EntryType
    obj: Any

    @property
    def pk(self) -> int:
        return int(self.obj.pk)

    @property
    def team(self) -> Team | None:
        if self.type == "submission":
            return self.obj.team
        if self.type == "run":
            return self.obj.version.algorithm.team
        return None  # a reference speaks for the task (its owners, the platform)

    @property
    def label(self) -> str:
        """How pages and the timeline name it."""
        if self.type == "reference":
            return self.obj.name
        if self.type == "run":
            version = self.obj.version
            return f"{version.algorithm.name} v{version.number} (run #{self.pk})"
        algorithm = submission_algorithm(submission=self.obj)
        made = f"{algorithm['name']} v{algorithm['version']}, " if algorithm else ""
        return f"submission #{self.pk} ({made}{self.obj.team.name})"

    def as_json(self) -> dict[str, Any]:
        """``{"type", "id", "name"}``: the API's ``entry``."""
        return {"type": self.type, "id": self.pk, "name": self.label}

    def scores(self, split: str) -> dict[str, Any]:
        """Its stored metrics on ``split`` (``{}`` when there are none)."""
        return dict((self.obj.scores or {}).get(split) or {})

    def predictions(self) -> Aligned:
        """Its predictions in the solution's row order; :class:`EntryUnreadable` otherwise."""
        if self.type == "reference":
            aligned = reference_predictions(reference=self.obj)
            if aligned is None:
                raise EntryUnreadable(
                    f"the reference '{self.obj.name}' has no readable predictions"
                )
            return aligned
        stored = self.obj.predictions
        if not stored:
            raise EntryUnreadable(f"{self.label} kept no predictions")
        try:
            with stored.open("rb") as handle:
                return load_predictions(handle.read())
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("predictions of %s unreadable", self.label, exc_info=True)
            raise EntryUnreadable(f"the predictions of {self.label} cannot be read") from exc

    def sealed_for(self, user: User | None) -> bool:
        """Whether its numbers are withheld from ``user`` (None: the public): a task
        owner's uploaded reference while the owner competes (``reference_scores_sealed``)."""
        return self.type == "reference" and reference_scores_sealed(reference=self.obj, user=user)

    def same_as(self, other: Entry | None) -> bool:
        return other is not None and (self.type, self.pk) == (other.type, other.pk)


def entry_candidate_reason(*, entry: Entry) -> str | None:
    """Why ``entry`` cannot take a champion's place now (None: it can): a submission must
    be scored and shown with its team; a run must have succeeded, scored on itself."""
    obj = entry.obj
    if entry.type == "submission":
        if obj.status != SubmissionStatus.SCORED or not obj.predictions:
            return "it is not scored"
        if obj.is_hidden or obj.team.is_hidden:
            return "it is hidden by the organizers"
        return None
    if entry.type == "run":
        if obj.status != AlgorithmRunStatus.SUCCEEDED or not obj.predictions:
            return "the run has no scored predictions"
        if obj.profile not in RUN_PROFILES or obj.submission_id:
            return "the run's predictions are a submission, weighed as such"
        if obj.version.algorithm.team.is_hidden:
            return "its team is hidden by the organizers"
        return None
    return "a reference becomes champion only at the start or by an organizer's pin"


def entry_of(
    *,
    submission: Submission | None = None,
    reference: Reference | None = None,
    run: AlgorithmRun | None = None,
) -> Entry | None:
    """The entry named by one of the three (None when none is given)."""
    if submission is not None:
        return Entry("submission", submission)
    if reference is not None:
        return Entry("reference", reference)
    if run is not None:
        return Entry("run", run)
    return None


def entry_initial(*, reference: Reference) -> Entry:
    """The champion a task starts with, from its primary reference: the AutoGluon
    reference stands for the baseline team's latest submission, which becomes the
    champion itself (the baseline's next runs must then pass the gate against it)."""
    if reference.source == ReferenceSource.AUTOGLUON and reference.submission is not None:
        return Entry("submission", reference.submission)
    return Entry("reference", reference)


def change_entry(*, change: ChampionChange | None) -> Entry | None:
    """The entry a timeline row names (None when it was removed since)."""
    if change is None:
        return None
    return entry_of(submission=change.submission, reference=change.reference, run=change.run)
