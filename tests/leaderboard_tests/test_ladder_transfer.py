"""The transfer matrix on a track with ladder tasks (docs/organizers/ladder.md, "Where a public
score is shown"): a reader who may not see a ladder board's exact public scores gets the matrix's
documented shape (200), each of a team's cells on such a task with its run and status but no
score, delta or interval, and a reason; the means, the decomposition and the frontier are
computed from the cells shown only (the decomposition equals the core's fit of those cells:
no withheld value enters it), and where nothing can be computed from them each figure is null
with the reason. Organizers, and everyone after the reveal, read the whole matrix.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from algorithms.models import AlgorithmRun, AlgorithmRunStatus
from datasets.models import Task
from leaderboard.tasks import transfer_decomposition_refit
from leaderboard.transfer.matrix import LADDER_CELL
from tests.scoring_tests.factories import api_client_for

from .benchmark_world import _submit, bench_world, core_decomposition
from .ladder_world import number_forms

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _url(world) -> str:
    return f"/api/v1/tracks/{world.track.slug}/transfer/"


def _ladder(world, *slugs: str) -> None:
    Task.objects.filter(slug__in=slugs).update(public_board="ladder")


def _organizer():
    user = get_user_model().objects.create_user("org", is_staff=True, is_superuser=True)
    return api_client_for(user)


def _readers(world) -> dict:
    return {"anonymous": APIClient(), "owls": api_client_for(world.users["owls"])}


def _hidden_forms(exact: dict, slugs: set[str]) -> set[str]:
    """Every way an answer could write a figure of the organizer's matrix on ``slugs`` (the
    teams' cells' scores, deltas and interval bounds) that no cell shown also has (on a split
    of 60 rows, scores are multiples of 1/60: many coincide)."""
    forms: dict[bool, set[str]] = {True: set(), False: set()}
    shown: dict[int, list[tuple[float, float]]] = {}
    for cell in exact["cells"]:
        for value in [cell["score"], cell["delta"], *(cell["ci"] or [])]:
            forms[cell["task"] in slugs].update(number_forms(value))
        if cell["task"] not in slugs:
            shown.setdefault(cell["algorithm"], []).append((cell["delta"], cell["score"]))
    for pairs in shown.values():  # the rows' means over the cells shown
        for mean in (np.mean([d for d, _ in pairs]), np.mean([v for _, v in pairs])):
            forms[False].update(number_forms(float(mean)))
    return forms[True] - forms[False]


def _same_effects(body: dict, core) -> None:
    d = body["decomposition"]
    by_id = {e["algorithm"]: e for e in d["algorithm_effects"]}
    for effect in core.algorithm_effects:
        api = by_id[int(effect.algorithm)]
        assert api["effect"] == pytest.approx(effect.effect, abs=1e-12)
        assert api["ci"] == pytest.approx(list(effect.ci), abs=1e-12)
    assert d["interaction_share"] == pytest.approx(core.interaction_share, abs=1e-12)


def test_a_ladder_tasks_cells_keep_their_status_and_the_fit_uses_the_others(tmp_path):
    world = bench_world(tmp_path)
    _ladder(world, "t-one")
    exact = _organizer().get(_url(world)).json()
    assert exact["withheld"] is None
    assert all(c["score"] is not None for c in exact["cells"])
    _same_effects(exact, core_decomposition(world))  # organizers: the whole matrix
    shown = core_decomposition(world, without=frozenset({"t-one"}))
    hidden = _hidden_forms(exact, {"t-one"})
    assert hidden
    for who, client in _readers(world).items():
        response = client.get(_url(world))
        assert response.status_code == 200, (who, response.content)
        body = response.json()
        assert body["withheld"]["tasks"] == ["t-one"] and "ladder" in body["withheld"]["reason"]
        for cell in body["cells"]:
            assert cell["status"] == "succeeded"
            if cell["task"] == "t-one":
                assert (cell["score"], cell["delta"], cell["ci"]) == (None, None, None), who
                assert cell["reason"] == LADDER_CELL and cell["robustness"] is None
            else:
                assert cell["score"] is not None and cell["delta"] is not None
        assert all(a["covered"] == 2 for a in body["algorithms"])
        _same_effects(body, shown)  # the core on the cells shown: nothing withheld enters
        difficulty = {d["task"]: d for d in body["decomposition"]["task_difficulty"]}
        assert difficulty["t-one"]["effect"] is None and difficulty["t-one"]["ci"] is None
        assert "ladder" in difficulty["t-one"]["reason"]
        assert difficulty["t-two"]["effect"] is not None
        found = sorted(h for h in hidden if h in response.content.decode())
        assert not found, (who, found)
        page = Client().get(f"/tracks/{world.track.slug}/transfer/")
        assert page.status_code == 200
        text = page.content.decode()
        assert 'id="transfer-withheld"' in text and "hidden until the reveal" in text
        assert not sorted(h for h in hidden if h in text)


def test_organizers_and_everyone_after_the_reveal_read_every_cell(tmp_path):
    world = bench_world(tmp_path)
    _ladder(world, "t-one", "t-two", "t-three")
    organizer = _organizer()
    body = organizer.get(_url(world)).json()
    assert body["withheld"] is None and all(c["score"] is not None for c in body["cells"])
    staff = get_user_model().objects.get(username="org")
    browser = Client()
    browser.force_login(staff)
    page = browser.get(f"/tracks/{world.track.slug}/transfer/").content.decode()
    assert 'id="transfer-withheld"' not in page
    world.challenge.private_revealed = True
    world.challenge.save(update_fields=["private_revealed"])
    for who, client in _readers(world).items():
        after = client.get(_url(world)).json()
        assert after["withheld"] is None, who
        _same_effects(after, core_decomposition(world))


def test_every_cell_withheld_declines_each_figure_with_the_reason(tmp_path):
    """The product default: every task of the track a ladder board. Nothing can be fitted
    from what the reader may see: every key is there, each figure null with why."""
    world = bench_world(tmp_path)
    _ladder(world, "t-one", "t-two", "t-three")
    for who, client in _readers(world).items():
        body = client.get(_url(world)).json()
        assert {c["score"] for c in body["cells"]} == {None}
        d = body["decomposition"]
        assert {"algorithm_effects", "task_difficulty", "interaction_share"} <= set(d)
        assert "home_advantage" in d
        assert len(d["algorithm_effects"]) == 3 and len(d["task_difficulty"]) == 3
        for item in [*d["algorithm_effects"], *d["task_difficulty"]]:
            assert item["effect"] is None and item["ci"] is None, who
            assert "ladder" in item["reason"]
        assert d["mean"] is None and "ladder" in d["mean_reason"]
        assert d["interaction_share"] is None and "ladder" in d["interaction_share_reason"]
        for point in body["frontier"]["points"]:
            assert point["quality"] is None and "ladder" in point["note"]
        assert all(a["mean_delta"] is None and a["covered"] == 0 for a in body["algorithms"])
    text = Client().get(f"/tracks/{world.track.slug}/transfer/").content.decode()
    assert 'id="no-decomposition" data-role="withheld"' in text


def test_a_refit_for_such_a_reader_fits_the_cells_it_may_see(tmp_path):
    """A new cell while a participant reads: the participant's last fit (of the cells shown,
    never the organizers') is shown meanwhile, and the worker refits the same cells."""
    world = bench_world(tmp_path)
    _ladder(world, "t-one")
    organizer = _organizer()
    reader = api_client_for(world.users["owls"])
    before = reader.get(_url(world)).json()
    organizer.get(_url(world))  # the organizers' fit is the track's last of its own view
    version = world.algorithms["owls"].versions.get()
    task = world.tasks["t-two"]
    AlgorithmRun.objects.create(
        version=version,
        task=task,
        status=AlgorithmRunStatus.SUCCEEDED,
        submission=_submit(tmp_path, task, world.teams["owls"], 0.02, seed=77),
        cpu_seconds=1.0,
        finished_at=timezone.now(),
    )
    with mock.patch("jobs.lifecycle.publish") as publish:
        meanwhile = reader.get(_url(world)).json()
    assert meanwhile["decomposition"]["updating"] is True
    effects = before["decomposition"]["algorithm_effects"]
    assert meanwhile["decomposition"]["algorithm_effects"] == effects
    [(_, kwargs)] = [(c.args, c.kwargs) for c in publish.call_args_list]
    assert kwargs["hidden"] == [world.tasks["t-one"].pk]
    transfer_decomposition_refit.run(
        **{k: v for k, v in kwargs.items() if k not in ("task_name", "countdown")}
    )
    after = reader.get(_url(world)).json()
    assert after["decomposition"]["updating"] is False
    _same_effects(after, core_decomposition(world, without=frozenset({"t-one"})))
