"""Web pages: the submit form (also without JavaScript), my submissions, submission detail."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from scoring.models import Submission, SubmissionStatus
from tests.scoring_tests.factories import (
    UserFactory,
    csv_bytes,
    make_participant,
    predictions_frame,
    upload,
)

pytestmark = pytest.mark.django_db

SCORES = {
    "all": {"accuracy": 0.5, "macro_f1": 0.4, "log_loss": 0.9},
    "public": {"accuracy": 0.625, "macro_f1": 0.5, "log_loss": 0.8},
    "private": {"accuracy": 0.4375, "macro_f1": 0.35, "log_loss": 1.1},
}


@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def alice(task):
    return make_participant(task.track.challenge, username="alice", name="Alpha")


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make(task, team, user, **fields) -> Submission:
    defaults = {"status": SubmissionStatus.SCORED, "scores": SCORES, "public_score": 0.625}
    return Submission.objects.create(
        task=task,
        team=team,
        uploaded_by=user,
        file="x.csv",
        status_changed_at=timezone.now(),
        **{**defaults, **fields},
    )


def test_the_submit_page_has_a_form_that_works_without_javascript(task, alice):
    page = browser_for(alice.user).get(f"/tasks/{task.slug}/submit/").content.decode()

    form = re.search(r"<form class=\"form submit-form\".*?</form>", page, re.S).group(0)
    assert f'action="/tasks/{task.slug}/submit/"' in form
    assert 'enctype="multipart/form-data"' in form and 'method="post"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert 'type="file" name="file"' in form and 'name="note"' in form
    # Progressive enhancement: the script uploads through the API with a progress bar.
    assert f'data-api-url="/api/v1/tasks/{task.slug}/submissions/"' in form
    assert "<progress" in form
    assert "scoring/submit.js" in page
    assert "0 of 5 submissions used today" in page


def test_a_plain_post_submits_and_redirects_to_the_submission(task, alice):
    client = browser_for(alice.user)
    response = client.post(
        f"/tasks/{task.slug}/submit/",
        {"file": upload(csv_bytes(predictions_frame(task))), "note": "no js"},
    )

    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/submissions/{submission.pk}/"
    assert (submission.note, submission.uploaded_by) == ("no js", alice.user)
    page = client.get(response["Location"]).content.decode()
    assert f"Submission #{submission.pk} received" in page
    assert 'class="badge queued"' in page


def test_the_same_form_sent_again_with_the_same_file_is_one_submission(task, alice):
    """A resend of the form (the answer was lost: a browser's retry, a reload) carries the
    key the page was made with: one submission. Another file from the same page (back,
    another file) is another submission; two pages have two keys."""
    client = browser_for(alice.user)
    page = client.get(f"/tasks/{task.slug}/submit/").content.decode()
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    again = client.get(f"/tasks/{task.slug}/submit/").content.decode()
    assert key not in again  # a fresh key for each page
    first_file = csv_bytes(predictions_frame(task))
    sent = [
        client.post(
            f"/tasks/{task.slug}/submit/",
            {"file": upload(data), "note": "resent", "idempotency_key": key},
        )
        for data in (first_file, first_file)
    ]
    (submission,) = Submission.objects.all()
    assert [r["Location"] for r in sent] == [f"/submissions/{submission.pk}/"] * 2
    frame = predictions_frame(task)
    frame.loc[0, "label"] = frame.loc[1, "label"]
    other = client.post(
        f"/tasks/{task.slug}/submit/",
        {"file": upload(csv_bytes(frame)), "note": "another file", "idempotency_key": key},
    )
    assert Submission.objects.count() == 2
    assert other["Location"] != sent[0]["Location"]
    refused = client.post(
        f"/tasks/{task.slug}/submit/",
        {"file": upload(first_file), "idempotency_key": "not a key"},
    )
    assert refused.status_code == 302 and Submission.objects.count() == 2


def test_a_refused_post_goes_back_with_the_reason(task, alice):
    client = browser_for(alice.user)
    response = client.post(
        f"/tasks/{task.slug}/submit/",
        {"file": upload(b"\x89PNG\r\n\x1a\n\xff"), "next": f"/tasks/{task.slug}/"},
        follow=True,
    )

    assert response.redirect_chain[0] == (f"/tasks/{task.slug}/", 302)
    assert "not Parquet, gzipped CSV or UTF-8 text" in response.content.decode()
    assert not Submission.objects.exists()


def test_an_unsafe_next_is_ignored(task, alice):
    response = browser_for(alice.user).post(
        f"/tasks/{task.slug}/submit/",
        {"file": upload(b""), "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/tasks/{task.slug}/submit/"


def test_pages_need_a_login(task):
    for url in (f"/tasks/{task.slug}/submit/", "/submissions/", "/submissions/1/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_my_submissions_lists_the_team_ones_with_live_status(module_tasks, alice):
    task = module_tasks["classification"]
    bob = make_participant(task.track.challenge, username="bob")
    pending = make(task, alice.team, alice.user, status=SubmissionStatus.SCORING, scores={})
    done = make(task, alice.team, alice.user)
    failed = make(task, alice.team, alice.user, status=SubmissionStatus.FAILED, error="Bad ids.")
    theirs = make(task, bob.team, bob.user)

    page = browser_for(alice.user).get(f"/submissions/?task={task.slug}").content.decode()

    rows = re.findall(r'data-submission-id="(\d+)"', page)
    assert rows == [str(failed.pk), str(done.pk), str(pending.pk)]
    assert str(theirs.pk) not in rows
    assert f'data-live-url="/api/v1/submissions/?limit=200&amp;task={task.slug}"' in page
    assert "data-live-pending" in page and "scoring/live.js" in page
    assert 'class="badge scoring"' in page and "0.6250" in page and "Bad ids." in page


def test_nothing_pending_means_no_polling(task, alice):
    make(task, alice.team, alice.user)
    page = browser_for(alice.user).get("/submissions/").content.decode()
    assert "data-live-pending" not in page


def test_the_detail_shows_every_metric_of_every_visible_split(task, alice):
    submission = make(task, alice.team, alice.user, row_count=30, file_format="parquet")
    client = browser_for(alice.user)

    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    for name in ("accuracy", "macro_f1", "log_loss"):
        assert f"<td>{name}" in page
    assert "0.625000" in page and "0.437500" not in page
    assert "Private-split scores appear here once the organizers reveal them." in page

    challenge = task.track.challenge
    challenge.private_revealed = True
    challenge.save()
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "0.437500" in page and "1.100000" in page
    assert "Private-split scores appear" not in page


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0372, "37 ms"), (0.0004, "< 1 ms"), (0.9994, "999 ms"), (0.9996, "1.00 s"),
     (12.345, "12.35 s")],
)  # fmt: skip
def test_the_scoring_time_reads_in_ms_under_a_second(task, alice, seconds, shown):
    submission = make(task, alice.team, alice.user, scoring_seconds=seconds)
    page = browser_for(alice.user).get(f"/submissions/{submission.pk}/").content.decode()
    assert f"scored in {html.escape(shown)}" in page


def test_organizers_see_private_scores_of_any_team(task, alice):
    submission = make(task, alice.team, alice.user)
    page = browser_for(UserFactory(is_staff=True)).get(f"/submissions/{submission.pk}/")
    assert "0.437500" in page.content.decode()


def test_the_detail_of_a_failed_submission_shows_the_validation_message(task, alice):
    submission = make(
        task,
        alice.team,
        alice.user,
        status=SubmissionStatus.FAILED,
        scores={},
        error="3 test ids are missing, e.g. 't0001'.",
    )
    page = browser_for(alice.user).get(f"/submissions/{submission.pk}/").content.decode()
    assert "Why it failed" in page
    assert "3 test ids are missing, e.g. &#x27;t0001&#x27;." in page


def test_another_teams_submission_page_is_a_404(task, alice):
    bob = make_participant(task.track.challenge, username="bob")
    theirs = make(task, bob.team, bob.user)
    assert browser_for(alice.user).get(f"/submissions/{theirs.pk}/").status_code == 404


def test_the_scripts_are_shipped():
    for name in ("scoring/submit.js", "scoring/live.js"):
        assert finders.find(name), name
