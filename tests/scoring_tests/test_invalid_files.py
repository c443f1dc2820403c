"""Every validation rule, one malformed file each: the submission ends ``failed`` with the
rule's own message (run in-process; ``test_worker.py`` sends a subset through a real worker)."""

from __future__ import annotations

import pytest

from scoring.models import SubmissionStatus
from scoring.services.upload import submission_create
from scoring.solutions import solution_cache
from scoring.tasks import score_submission
from tests.scoring_tests.corpus import CORPUS, Case
from tests.scoring_tests.factories import make_participant, predictions_frame, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("case", CORPUS, ids=str)
def test_each_malformed_file_fails_with_its_own_message(case: Case, module_tasks, settings):
    task = module_tasks[case.kind]
    content = case.build(predictions_frame(task))
    who = make_participant(task.track.challenge)
    submission = submission_create(task=task, user=who.user, file=upload(content))
    assert submission.status == SubmissionStatus.QUEUED  # it passed the cheap upload checks
    for name, value in case.settings.items():
        setattr(settings, name, value)

    solution_cache.items.clear()
    score_submission.run(submission_pk=submission.pk)
    submission.refresh_from_db()

    assert submission.status == SubmissionStatus.FAILED
    assert case.expect in submission.error
    assert submission.attempts == 1, "an invalid file is not retried"
    assert submission.scores == {} and submission.public_score is None
    assert not submission.predictions


def test_the_corpus_covers_enough_rules():
    assert len(CORPUS) >= 25
    assert len({case.expect for case in CORPUS}) == len(CORPUS)
