"""The champion gate live: a real Celery worker (queues ``scoring`` and ``notifications``),
the real Redis, a webhook receiver checking every signature itself, and Chromium.

Three uploads in a row through the API; the champion changes exactly when the gate,
computed independently (``champion_world.oracle``), says it should; each change is one
signed ``champion`` webhook event; the task page's timeline shows both changes."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from leaderboard.models import ChampionChange, ChampionCheck, ChampionCheckStatus
from notifications.models import DeliveryStatus, Webhook, WebhookDelivery
from scoring.services.references import reference_upload
from testkit.webhook_receiver import webhook_receiver  # noqa: F401 - fixture
from tests.challenges_tests.factories import PASSWORD, api_key
from tests.leaderboard_tests.champion_world import gate_task, oracle, world_of
from tests.scoring_tests.factories import ChallengeFactory, make_participant, upload
from tests.support.browser import login
from tests.support.celery_worker import WorkerProcess
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def worker(redis_server, redis_client, transactional_db, tmp_path):
    redis_client.flushall()
    process = WorkerProcess(
        redis_url=redis_server.url,
        log_path=tmp_path / "worker.log",
        queues="scoring,notifications",
        env={"WEBHOOK_RETRY_BASE_SECONDS": "0.3"},
    ).start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_three_uploads_the_champion_changes_when_the_gate_says_and_everyone_hears(
    live_server,
    browser_page,
    worker,
    webhook_receiver,  # noqa: F811 - fixture
    tmp_path,
):
    challenge = ChallengeFactory(slug="live-gate", daily_submission_limit=5)
    task = gate_task(tmp_path, challenge_slug=challenge.slug, slug="live-gated")
    world = world_of(task)
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    receiver = webhook_receiver("gate-secret")
    Webhook.objects.create(
        challenge=challenge, url=receiver.url, secret="gate-secret", events=["champion"]
    )
    team = make_participant(challenge, username="ann", name="Ann's lab")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(team.user)}")

    first = world.planted["few_flips"]
    second = world.planted["many_flips"]
    third = first.copy()  # first's own mistakes mostly fixed, nothing first had right broken
    rng = np.random.default_rng(5)
    fix = (third != world.truth) & (rng.random(len(third)) < 0.7)
    third[fix] = world.truth[fix]
    slices = {"color": world.color}

    def verdict(new, champion):
        return oracle(
            truth=world.truth, new=new, champion=champion, rows=world.public, slices=slices
        )

    expected = [verdict(first, world.reference), verdict(second, first), verdict(third, first)]
    assert [e["passes"] for e in expected] == [True, False, True]
    start = api.get(f"/api/v1/tasks/{task.slug}/champion/").json()
    assert start["entry"]["name"] == "production model"
    entries, current = [], start["entry"]
    for codes, plan in zip((first, second, third), expected, strict=True):
        response = api.post(
            f"/api/v1/tasks/{task.slug}/submissions/",
            {"file": upload(world.file(codes))},
            format="multipart",
        )
        assert response.status_code == 201, response.content
        pk = response.json()["id"]
        check = wait_for(
            lambda pk=pk: ChampionCheck.objects.filter(
                submission_id=pk, decides=True, status=ChampionCheckStatus.DONE
            ).first(),
            timeout=180,
            what=f"the champion check of submission {pk}",
            worker=worker,
        )
        assert check.passes is plan["passes"]
        now = api.get(f"/api/v1/tasks/{task.slug}/champion/").json()
        if plan["passes"]:
            assert now["entry"]["id"] == pk and now["team"] == "Ann's lab"
        else:
            assert now["entry"] == current  # kept
        current = now["entry"]
        entries.append(now)

    subs = [e["entry"]["id"] for e in entries]
    assert subs[0] == subs[1] != subs[2]
    history = entries[-1]["history"]
    assert [h["by"] for h in history] == ["initial", "gate", "gate"]
    for item, plan in zip(history[1:], (expected[0], expected[2]), strict=True):
        assert item["difference"] == pytest.approx(plan["difference"], rel=1e-9)
        assert item["ci"] == pytest.approx(plan["ci"], rel=1e-9)
        assert item["nfr"] == pytest.approx(plan["nfr"])
        assert item["nfr_upper"] == pytest.approx(plan["nfr_ci"][1], rel=1e-9)

    # Each change is one champion event, signed; the kept upload sent none.
    changes = list(ChampionChange.objects.filter(by="gate").order_by("at"))
    wait_for(
        lambda: len(receiver.accepted) == 2,
        timeout=90,
        what="two champion webhook events",
        worker=worker,
    )
    assert all(r["signature_ok"] for r in receiver.requests)
    assert [e["event"] for e in receiver.accepted] == ["champion", "champion"]
    assert sorted(e["data"]["entry"]["id"] for e in receiver.accepted) == sorted(
        c.submission_id for c in changes
    )
    for event in receiver.accepted:
        assert event["data"]["task"] == task.slug and event["data"]["by"] == "gate"
        assert "is the new champion of" in event["text"]
    # The receiver answers before the worker records the answer: a delivery
    # reads "sending" for that moment, so the test waits for the record.
    wait_for(
        lambda: (
            set(WebhookDelivery.objects.values_list("status", flat=True))
            == {DeliveryStatus.DELIVERED}
        ),
        timeout=60,
        what="both webhook deliveries recorded as delivered",
        worker=worker,
    )
    assert {r["headers"]["X-Webhook-Event"] for r in receiver.requests} == {"champion"}

    # The task page: the timeline, newest first, and a verdict on the team's entry.
    page = browser_page
    login(page, live_server.url, "ann", PASSWORD)
    page.goto(f"{live_server.url}/tasks/{task.slug}/")
    timeline = page.locator('[data-role="champion-timeline"] li')
    assert timeline.count() == 3
    steps = timeline.all_inner_texts()
    assert (
        f"submission #{subs[2]}" in steps[0] and "passed the gate on the public split" in steps[0]
    )
    assert f"submission #{subs[0]}" in steps[1]
    assert "production model" in steps[2] and "primary reference" in steps[2]
    assert page.locator('[data-role="champion-timeline"] li.current').count() == 1
    assert f"submission #{subs[2]}" in page.locator('[data-role="current-champion"]').inner_text()
    row = page.locator('[data-role="champion-verdicts"] tr[data-team="Ann\'s lab"]')
    assert row.get_attribute("data-verdict") == "champion"
