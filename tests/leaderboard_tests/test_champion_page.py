"""The task page's champion panel: the champion, its timeline, and a "would this be a
champion?" verdict on every board entry, queued by the beat's minute (and after each change)
against the champion of the day, on the split the gate decides on."""

from __future__ import annotations

import pytest
from django.test import Client

from leaderboard.champion.beat import champion_tick
from leaderboard.champion.services import champion_check_run
from leaderboard.models import ChampionCheck, ChampionCheckStatus
from scoring.services.references import reference_upload
from scoring.services.upload import submission_create
from tests.leaderboard_tests.champion_world import world_of
from tests.scoring_tests.factories import make_participant, upload
from tests.scoring_tests.references_helpers import scored

pytestmark = pytest.mark.django_db


def _weigh_queued() -> int:
    done = 0
    for pk in ChampionCheck.objects.filter(status=ChampionCheckStatus.QUEUED).values_list(
        "pk", flat=True
    ):
        champion_check_run(check_pk=pk)
        done += 1
    return done


@pytest.fixture
def page(_gated_pk):
    from datasets.models import Task

    task = Task.objects.select_related("track__challenge").get(pk=_gated_pk)
    world = world_of(task)
    reference_upload(
        task=task,
        name="production model",
        file=upload(world.file(world.reference), "production.csv"),
        make_primary=True,
    )
    return task, world


def test_every_board_entry_gets_a_verdict_against_the_champion_of_the_day(page):
    task, world = page
    teams = {
        name: make_participant(task.track.challenge, username=name, name=name.title())
        for name in ("ann", "bo", "cy")
    }
    plan = {"ann": "many_flips", "bo": "slice_broken", "cy": "equal"}
    for name, planted in plan.items():
        scored(
            submission_create(
                task=task, user=teams[name].user, file=upload(world.file(world.planted[planted]))
            )
        )
    assert _weigh_queued() == 3  # the three deciding checks: none passes
    client = Client()
    html = client.get(f"/tasks/{task.slug}/").content.decode()
    assert 'data-role="current-champion"' in html and "production model" in html
    # The deciding checks were weighed against today's champion: they are the verdicts.
    for name, verdict in (("Ann", "no"), ("Bo", "no"), ("Cy", "no")):
        assert f'data-team="{name}" data-verdict="{verdict}"' in html
    assert "A slice breaks: color = red" in html and "Breaks too much" in html

    # A better entry is crowned; the others are weighed again against it by the beat.
    dee = make_participant(task.track.challenge, username="dee", name="Dee")
    scored(
        submission_create(
            task=task, user=dee.user, file=upload(world.file(world.planted["few_flips"]))
        )
    )
    _weigh_queued()
    assert champion_tick()["queued"] == 3  # Ann, Bo and Cy against Dee (Dee is the champion)
    assert champion_tick()["queued"] == 0  # once
    html = client.get(f"/tasks/{task.slug}/").content.decode()
    assert html.count('data-verdict="pending"') == 3
    assert _weigh_queued() == 3
    html = client.get(f"/tasks/{task.slug}/").content.decode()
    assert 'data-team="Dee" data-verdict="champion"' in html
    assert html.count('data-verdict="no"') == 3
    steps = html.split('data-role="champion-timeline"')[1].split("</ol>")[0]
    assert steps.count("<li") == 2 and "passed the gate on the public split" in steps

    # After the reveal the gate decides on the private split: new verdicts, private figures.
    challenge = task.track.challenge
    challenge.private_revealed = True
    challenge.save()
    assert champion_tick()["queued"] == 3
    _weigh_queued()
    private = ChampionCheck.objects.filter(split="private", decides=False)
    assert private.count() == 3 and all(c.result["split"] == "private" for c in private)


def test_the_panel_before_any_champion_names_the_primary_reference(page):
    task, world = page
    html = Client().get(f"/tasks/{task.slug}/").content.decode()
    assert "The first champion is the task's primary reference" in html
    assert "chal release-check" in html
