"""No job stays queued while a worker idles (issue 36): the messages of every job type are lost
and every job is still done, once.

One job of each type is made through its real path: a scoring (an upload), a team's
algorithm run, a benchmark re-run (a task added after the algorithm), a baseline run, a
webhook delivery and a mail (an announcement). Their rows are committed and their messages
published; then the broker loses its whole dataset (``FLUSHALL``: a Redis restarted empty),
before any worker took them. A worker and the real ``celery beat`` start: the beat's
``republish-lost-jobs`` finds each queued row with no message on the broker and publishes
its message again (:mod:`jobs.republish`, within ``JOB_REPUBLISH_SECONDS``), and each job is
done exactly once: one claim each, one score, one POST the receiver accepts, one mail.

The baseline is the platform's own baseline pipeline (the baseline profile, its queue and
the sandbox) running a trivial algorithm folder (``BASELINE_ALGORITHM_DIR``) instead of the
AutoGluon fit, which would take minutes here and is not what this test is about.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from algorithms.services.baseline import baseline_run_queue
from datasets.services import task_import
from jobs.registry import registered
from leaderboard.models import ChampionCheck, ChampionCheckStatus
from notifications.models import MailDelivery, MailStatus, Webhook, WebhookDelivery
from notifications.services import announcement_create
from scoring.models import Submission, SubmissionStatus
from scoring.services.lifecycle import submission_score
from testkit.archives import algorithm_zip
from testkit.bundles import write_classification_bundle
from testkit.webhook_receiver import webhook_receiver  # noqa: F401 - fixture
from tests.algorithms_tests.worker_helpers import start_runs, upload_algorithm
from tests.reliability_tests.setup_helpers import make_setup
from tests.support.smtp import smtp_server  # noqa: F401 - fixture
from tests.support.waiting import wait_for, wait_logged

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]

BOUND = "4"  # JOB_REPUBLISH_SECONDS of the worker and the beat: a look every 2 s

TRIVIAL_BASELINE = """
import os
from pathlib import Path

import pandas as pd

task, out = Path(os.environ["TASK_DIR"]), Path(os.environ["OUTPUT_DIR"])
train = pd.read_parquet(task / "train.parquet")
test = pd.read_parquet(task / "test.parquet")
label = train["label"].mode()[0]
pd.DataFrame({"id": test["id"], "label": label}).to_csv(out / "predictions.csv", index=False)
"""


def trivial_baseline_dir(folder: Path) -> Path:
    """A baseline folder (as ``BASELINE_ALGORITHM_DIR`` expects) whose method is the majority
    class: the baseline profile's whole pipeline, without minutes of fitting."""
    (folder / "kinds").mkdir(parents=True)
    (folder / "kinds" / "classification.py").write_text("")
    (folder / "algorithm.yaml").write_text("name: Trivial baseline\nentrypoint: main.py\n")
    (folder / "main.py").write_text(textwrap.dedent(TRIVIAL_BASELINE))
    return folder


def test_every_job_whose_message_was_lost_is_done_once(
    processes, broker, tmp_path, settings, smtp_server, webhook_receiver  # noqa: F811
):
    host, port, inbox = smtp_server
    settings.BASELINE_ALGORITHM_DIR = str(trivial_baseline_dir(tmp_path / "baseline"))
    settings.REPRODUCTION_SHARE = 0
    setup = make_setup(tmp_path)
    challenge = setup.task.track.challenge
    setup.user.email = "ada@example.org"
    setup.user.save(update_fields=["email"])
    receiver = webhook_receiver("hook-secret")
    Webhook.objects.create(
        challenge=challenge, url=receiver.url, secret="hook-secret", events=["announcement"]
    )

    # One job of every type, each through its real path; their messages go to the broker.
    upload = setup.upload()
    assert upload.status_code == 201
    # A scored entry queues its champion check (the gate) where its score lands.
    weighed = setup.upload().json()["id"]
    assert submission_score(submission_pk=weighed) == SubmissionStatus.SCORED
    algorithm = upload_algorithm(setup.client, challenge, algorithm_zip(name="Honest"))
    start_runs(setup.client, algorithm["id"], tasks=[setup.task.slug])
    bundle = write_classification_bundle(
        tmp_path / "later", rows=60, task={"slug": "arrives-later"}
    )
    later = task_import(
        source=bundle, challenge_slug=challenge.slug, track_slug=setup.task.track.slug
    )
    baseline_run_queue(task=setup.task, time_limit=30)
    announcement_create(challenge=challenge, user=None, title="Kick-off", body="Welcome!")

    jobs = {
        "submission": Submission.objects.filter(pk=upload.json()["id"]),
        "team run": AlgorithmRun.objects.filter(profile="team"),
        "re-run": AlgorithmRun.objects.filter(profile="benchmark", task=later),
        "baseline run": AlgorithmRun.objects.filter(profile="baseline"),
        "webhook delivery": WebhookDelivery.objects.all(),
        "mail": MailDelivery.objects.filter(user=setup.user, topic="announcement"),
        "champion check": ChampionCheck.objects.filter(submission_id=weighed, decides=True),
    }
    assert {name: rows.count() for name, rows in jobs.items()} == dict.fromkeys(jobs, 1)
    assert {name: rows.get().status for name, rows in jobs.items()} == {
        name: "queued" for name in jobs
    }
    assert broker.dbsize() > 0
    broker.flushall()  # the broker restarts with an empty dataset: every message is lost

    quick = {"JOB_REPUBLISH_SECONDS": BOUND, "EMAIL_HOST": host, "EMAIL_PORT": str(port)}
    worker = processes(
        env=quick,
        queues="scoring,algorithms,baselines,notifications",
        settings_module="tests.notifications_tests.worker_settings",
    )
    worker.wait_ready()
    # The worker's first beat finds the broker's data lost (jobs.liveness), and the beat's
    # republish runs too: either publishes each queued job again, and each is done once.
    beat = processes("beat", schedule=tmp_path / "celerybeat-schedule", env=quick)

    def done() -> bool:
        return (
            jobs["submission"].get().status == SubmissionStatus.SCORED
            and all(
                jobs[name].get().status == AlgorithmRunStatus.SUCCEEDED
                for name in ("team run", "re-run", "baseline run")
            )
            and jobs["webhook delivery"].get().status == "delivered"
            and jobs["mail"].get().status == MailStatus.SENT
            # The baseline's score re-decides the champion (the first rule), so the entry
            # is weighed again against it: every check of it ends done.
            and set(jobs["champion check"].values_list("status", flat=True))
            == {ChampionCheckStatus.DONE}
        )

    try:
        wait_for(done, timeout=240, what="every job to be done", log=[worker, beat])
    except BaseException:
        statuses = {name: (row.status, row.attempts) for name, rows in jobs.items() for row in rows}
        print(f"the jobs as they stand: {statuses}")
        raise
    # Each type's lost message was published again by the republish (its log line names it).
    labels = ("submission", "algorithm run", "baseline run", "webhook delivery", "mail")
    assert set(labels) <= {job_type.label for job_type in registered()}
    for label in labels:
        wait_logged(worker, rf"{label}: published again \[", what=label)
    # ...and each job was done once.
    for name, rows in jobs.items():
        assert [row.attempts for row in rows] == [1] * rows.count(), name
    assert len(receiver.accepted) == 1 and receiver.accepted[0]["event"] == "announcement"
    assert len(inbox.to("ada@example.org")) == 1
    # The two uploads, and the team run's predictions as the team's submission: one each.
    assert Submission.objects.filter(team__is_baseline=False).count() == 3
