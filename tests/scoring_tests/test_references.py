"""References per task (docs/architecture.md §11) on real imported tasks scored by the
real scoring body: the trivial baseline, uploads (good and hostile), the primary rule, the board API
and CSV with references and flip columns, the submission API's flips, the prize option, the
example-ids option."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from leaderboard.models import LeaderboardEntry
from leaderboard.services import leaderboard_bootstrap_compute
from scoring.insight import submission_insight
from scoring.models import Reference
from scoring.reference_selectors import primary_reference, reference_list
from scoring.services.references import (
    ReferenceRefused,
    reference_primary_set,
    reference_trivial_ensure,
    reference_upload,
    trivial_submission,
)
from tests.scoring_tests.factories import (
    api_client_for,
    csv_bytes,
    solution_frame,
    upload,
)

from .references_helpers import baseline_submission, organizer, scored, wrong_on  # noqa: F401

pytestmark = pytest.mark.django_db








def naive_nfr(task, pred_file: bytes, ref_file: bytes, split: str) -> tuple[float, float]:
    truth = solution_frame(task)
    pred = pd.read_csv(io.BytesIO(pred_file), dtype=str).set_index("id")["label"]
    ref = pd.read_csv(io.BytesIO(ref_file), dtype=str).set_index("id")["label"]
    rows = truth if split == "all" else truth[truth.split == split]
    neg = pos = 0
    for row_id, label in zip(rows["id"], rows["label"].astype(str), strict=True):
        neg += ref[row_id] == label and pred[row_id] != label
        pos += pred[row_id] == label and ref[row_id] != label
    return neg / len(rows), pos / len(rows)






# --- the trivial baseline -------------------------------------------------------------------


def test_trivial_baseline_is_the_majority_class_with_the_train_priors(module_tasks):
    task = module_tasks["classification"]
    with task.train_parquet.open("rb") as fh:
        train = pd.read_parquet(io.BytesIO(fh.read()))
    counts = train["label"].astype(str).value_counts()
    frame = pd.read_csv(io.BytesIO(trivial_submission(task=task)), dtype={"id": str})
    assert list(frame["id"]) == list(solution_frame(task)["id"])
    majority = counts.index[0]
    assert set(frame["label"].astype(str)) == {majority}
    for c in task.classes:
        assert frame[f"proba_{c}"].iloc[0] == pytest.approx(counts.get(c, 0) / len(train))
    reference = reference_trivial_ensure(task=task)
    truth = solution_frame(task)
    public = truth[truth.split == "public"]
    assert reference.public_score == pytest.approx((public["label"].astype(str) == majority).mean())
    assert reference_trivial_ensure(task=task).pk == reference.pk  # built once


def test_trivial_matching_baseline_predicts_no_match_with_the_base_rate(module_tasks):
    task = module_tasks["matching"]
    with task.train_parquet.open("rb") as fh:
        rate = pd.read_parquet(io.BytesIO(fh.read()))["label"].astype(float).mean()
    frame = pd.read_csv(io.BytesIO(trivial_submission(task=task)))
    assert set(frame["label"]) == {0}
    assert np.allclose(frame["score"], rate)
    assert reference_trivial_ensure(task=task).scores["public"]["f1"] == 0.0


# --- the board: references without rank, flips against the primary -----------------------


def test_board_api_shows_references_unranked_with_flips_against_the_primary(case):
    task, files = case["task"], case["files"]
    body = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    assert body["primary_reference"] == "AutoGluon baseline"  # no upload: AutoGluon
    refs = [e for e in body["entries"] if e["reference"]]
    assert {e["reference"] for e in refs} == {"AutoGluon baseline", "Trivial baseline"}
    for e in refs:
        assert e["rank"] is None and e["is_baseline"] is True and e["prize_eligible"] is None
    assert [e["position"] for e in body["entries"]] == list(range(1, len(body["entries"]) + 1))
    ranked = [e for e in body["entries"] if e["rank"] is not None]
    assert [e["team"] for e in ranked] == ["Ann", "Bo"]
    for e in ranked:
        nfr, pfr = naive_nfr(task, files[e["team"].lower()], files["base"], "public")
        assert (e["nfr"], e["pfr"]) == (pytest.approx(nfr), pytest.approx(pfr))
        assert e["nfr_low"] <= e["nfr"] <= e["nfr_high"] or e["nfr"] == 0
        assert e["prize_eligible"] is True and e["reference"] is None
    scores = [e["score"] for e in body["entries"] if e["score"] is not None]
    assert scores == sorted(scores, reverse=True)


def test_upload_becomes_primary_and_the_choice_can_be_set_back(case):
    task, files, P = case["task"], case["files"], case["P"]
    prod = wrong_on(task, {P[3], P[4]})
    ref = reference_upload(task=task, name="production model, September", file=upload(prod))
    # The challenge is running: an upload does not silently become primary (issue 25)...
    assert primary_reference(task=task).name == "AutoGluon baseline"
    # ...while one made before the start is the default.
    Reference.objects.filter(pk=ref.pk).update(
        created_at=task.track.challenge.start - timedelta(minutes=1)
    )
    assert primary_reference(task=task).pk == ref.pk  # an upload wins by default
    leaderboard_bootstrap_compute(task_id=task.pk, n_resamples=50)
    bo = LeaderboardEntry.objects.get(task=task, split="public", team=case["bo"].team)
    assert bo.nfr == pytest.approx(naive_nfr(task, files["bo"], prod, "public")[0])

    reference_primary_set(task=task, name="Trivial baseline")
    assert primary_reference(task=task).name == "Trivial baseline"
    reference_primary_set(task=task, name=None)
    assert primary_reference(task=task).pk == ref.pk
    with pytest.raises(ReferenceRefused, match="no reference named 'nope'"):
        reference_primary_set(task=task, name="nope")
    Reference.objects.filter(source="upload").delete()
    assert primary_reference(task=task).name == "AutoGluon baseline"
    Reference.objects.filter(source="autogluon").delete()
    assert primary_reference(task=task).name == "Trivial baseline"


def test_the_task_owner_api_uploads_lists_and_sets_the_primary(case):
    task, P = case["task"], case["P"]
    org = api_client_for(organizer())
    url = f"/api/v1/tasks/{task.slug}/references/"
    response = org.post(
        url, {"name": "prod v2", "file": upload(wrong_on(task, {P[1]})), "primary": "true"}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["is_primary"] is True and response.json()["source"] == "upload"
    listed = org.get(url).json()
    assert [r["name"] for r in listed] == ["AutoGluon baseline", "Trivial baseline", "prod v2"]
    response = org.put(url + "primary/", {"reference": "Trivial baseline"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Trivial baseline"
    # A participant manages nothing.
    denied = case["ann"].api().post(url, {"name": "x", "file": upload(b"id,label\n")})
    assert denied.status_code == 403
    assert Reference.objects.filter(task=task, name="x").count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,label\nnot-an-id,a\n", "The reference file is invalid"),
        (b"", "The reference file is invalid"),
        (b"\x00\x01binary", "The reference file is invalid"),
    ],
)
def test_hostile_reference_files_are_refused_with_a_reason(case, content, message):
    task = case["task"]
    before = Reference.objects.count()
    response = api_client_for(organizer()).post(
        f"/api/v1/tasks/{task.slug}/references/", {"name": "bad", "file": upload(content)}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message), response.json()
    assert Reference.objects.count() == before


def test_wrong_ids_huge_file_and_bad_names_are_refused(case):
    task = case["task"]
    truth = solution_frame(task)
    wrong_ids = csv_bytes(pd.DataFrame({"id": [f"x{i}" for i in range(len(truth))], "label": "a"}))
    with pytest.raises(ReferenceRefused, match="invalid"):
        reference_upload(task=task, name="wrong ids", file=upload(wrong_ids))
    with (
        override_settings(SUBMISSION_MAX_BYTES=1000),
        pytest.raises(ReferenceRefused, match="limit is 1,000 bytes"),
    ):
        reference_upload(task=task, name="huge", file=upload(b"id,label\n" + b"x" * 5000))
    for name, why in (("", "needs a name"), ("Trivial baseline", "built-in"), ("n" * 81, "80")):
        with pytest.raises(ReferenceRefused, match=why):
            reference_upload(task=task, name=name, file=upload(case["files"]["ann"]))
    reference_upload(task=task, name="dup", file=upload(case["files"]["ann"]))
    with pytest.raises(ReferenceRefused, match="already has a reference named"):
        reference_upload(task=task, name="DUP", file=upload(case["files"]["ann"]))
    assert set(Reference.objects.filter(task=task).values_list("name", flat=True)) == {
        "AutoGluon baseline",
        "Trivial baseline",
        "dup",
    }


def test_csv_export_has_reference_and_flip_columns(case):
    task = case["task"]
    text = Client().get(f"/tasks/{task.slug}/leaderboard.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    for column in ("reference", "nfr", "nfr_low", "nfr_high", "pfr", "opis", "prize_eligible"):
        assert column in rows[0], column
    by_team = {r["team"]: r for r in rows}
    assert by_team["Trivial baseline"]["reference"] == "Trivial baseline"
    assert by_team["Trivial baseline"]["rank"] == ""
    nfr, _ = naive_nfr(task, case["files"]["bo"], case["files"]["base"], "public")
    assert float(by_team["Bo"]["nfr"]) == pytest.approx(nfr)
    assert by_team["Bo"]["prize_eligible"] == "True"


def test_submission_api_has_flips_per_visible_split_against_every_reference(case):
    task, files = case["task"], case["files"]
    sub = case["subs"]["bo"]
    body = case["bo"].api().get(f"/api/v1/submissions/{sub.pk}/").json()
    assert set(body["flips"]) == {"public"}  # private rows stay out until the reveal
    assert set(body["flips"]["public"]) == {"AutoGluon baseline", "Trivial baseline"}
    nfr, pfr = naive_nfr(task, files["bo"], files["base"], "public")
    assert body["flips"]["public"]["AutoGluon baseline"] == {
        "nfr": pytest.approx(nfr),
        "pfr": pytest.approx(pfr),
    }
    assert body["nfr"] == pytest.approx(nfr)
    listed = case["bo"].api().get("/api/v1/submissions/").json()
    items = listed["results"] if isinstance(listed, dict) else listed
    assert items[0]["nfr"] == pytest.approx(nfr)
    org = api_client_for(organizer()).get(f"/api/v1/submissions/{sub.pk}/").json()
    assert set(org["flips"]) == {"public", "private", "all"}
    assert org["flips"]["private"]["AutoGluon baseline"]["nfr"] == pytest.approx(
        naive_nfr(task, files["bo"], files["base"], "private")[0]
    )


# --- organizer options -----------------------------------------------------------------------


def test_prize_limit_marks_teams_above_it_without_hiding_them(case):
    task = case["task"]
    track = task.track
    track.prize_max_nfr = 0.2
    track.save()
    nfr_bo, _ = naive_nfr(task, case["files"]["bo"], case["files"]["base"], "public")
    nfr_ann, _ = naive_nfr(task, case["files"]["ann"], case["files"]["base"], "public")
    assert nfr_bo >= 0.2 > nfr_ann  # Bo breaks 3 of 9 public rows the baseline got right, Ann 1
    body = APIClient().get(f"/api/v1/tasks/{task.slug}/leaderboard/").json()
    eligible = {e["team"]: e["prize_eligible"] for e in body["entries"] if e["rank"]}
    assert eligible == {"Ann": True, "Bo": False}
    assert body["prize_max_nfr"] == 0.2
    track_body = APIClient().get(f"/api/v1/tracks/{track.slug}/leaderboard/").json()
    by_team = {e["team"]: e for e in track_body["entries"]}
    assert by_team["Bo"]["prize_eligible"] is False and by_team["Bo"]["rank"] is not None
    assert by_team["Ann"]["prize_eligible"] is True
    page = Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    assert "not prize-eligible" in page and 'data-team="Bo"' in page


def test_example_ids_hidden_while_running_then_shown(case):
    task, bo = case["task"], case["bo"]
    challenge = task.track.challenge
    sub = case["subs"]["bo"]
    insight = submission_insight(submission=sub, user=bo.user)
    assert insight.comparisons and all(
        not c.positive_ids and not c.negative_ids for c in insight.comparisons
    )
    assert any("hidden while the challenge runs" in n for n in insight.notes)
    assert insight.comparisons[0].report.negative > 0  # the counts are still there
    staff = submission_insight(submission=sub, user=organizer())
    assert any(c.negative_ids for c in staff.comparisons)

    challenge.end = timezone.now() - timedelta(minutes=1)
    challenge.start = challenge.end - timedelta(days=2)
    challenge.save()
    sub.refresh_from_db()
    after = submission_insight(submission=sub, user=bo.user)
    assert any(c.negative_ids for c in after.comparisons)

    challenge.flip_examples = "hidden"
    challenge.save()
    sub.refresh_from_db()
    assert not any(
        c.negative_ids for c in submission_insight(submission=sub, user=bo.user).comparisons
    )


def test_reference_list_orders_built_in_first(case):
    names = [r.name for r in reference_list(task=case["task"])]
    assert names == ["AutoGluon baseline", "Trivial baseline"]


def test_frozen_standings_mark_prize_eligibility_on_the_private_rows(case):
    from standings.services import standings_compute

    task, files = case["task"], case["files"]
    nfr_ann = naive_nfr(task, files["ann"], files["base"], "private")[0]
    nfr_bo = naive_nfr(task, files["bo"], files["base"], "private")[0]
    assert nfr_bo == 0 < nfr_ann  # on the private rows Ann breaks Q1, Bo nothing
    track = task.track
    track.prize_max_nfr = nfr_ann  # "below x": Ann is at the limit, so not eligible
    track.save()
    doc = standings_compute(challenge=track.challenge, frozen_at=timezone.now())
    (board,) = [t for t in doc["tracks"] if t["track"] == track.slug]
    assert board["prize_max_nfr"] == nfr_ann
    marks = {e["team"]: e["prize_eligible"] for e in board["entries"]}
    assert marks == {"Ann": False, "Bo": True, "AutoGluon": None}


def test_owner_page_uploads_sets_primary_and_removes_a_reference(case):
    task, P = case["task"], case["P"]
    client = Client()
    client.force_login(organizer())
    url = f"/tasks/{task.slug}/manage/references/"
    page = client.get(f"/tasks/{task.slug}/manage/").content.decode()
    assert 'id="reference-upload"' in page and 'data-reference="Trivial baseline"' in page
    response = client.post(
        url,
        {
            "action": "upload",
            "name": "prod",
            "file": upload(wrong_on(task, {P[0]})),
            "primary": "1",
        },
        follow=True,
    )
    assert "Reference &#x27;prod&#x27; uploaded and scored." in response.content.decode()
    assert primary_reference(task=task).name == "prod"
    bad = client.post(
        url, {"action": "upload", "name": "bad", "file": upload(b"id,label\nzz,a\n")}, follow=True
    )
    assert "The reference file is invalid" in bad.content.decode()
    client.post(url, {"action": "primary", "reference": "Trivial baseline"})
    assert primary_reference(task=task).name == "Trivial baseline"
    prod = Reference.objects.get(task=task, name="prod")
    client.post(url, {"action": "delete", "reference_id": prod.pk})
    assert not Reference.objects.filter(pk=prod.pk).exists()
    # A participant cannot reach the forms.
    other = Client()
    other.force_login(case["ann"].user)
    assert other.post(url, {"action": "primary", "reference": ""}).status_code == 404


def test_tradeoff_plot_escapes_names_and_marks_the_limit():
    from common.tradeoff_svg import TradeoffPoint, tradeoff_svg

    svg = tradeoff_svg(
        [TradeoffPoint("<b>&x", 0.1, 0.02), TradeoffPoint("ok", 0.01, -0.01, ineligible=True)],
        title="T",
        reference='prod "v1"',
        nfr_limit=0.05,
    )
    assert "<b>" not in svg and "&lt;b&gt;&amp;x" in svg and "prod &quot;v1&quot;" in svg
    assert svg.count('class="team-point"') == 2 and 'class="nfr-limit"' in svg
    assert "(not prize-eligible)" in svg
    empty = tradeoff_svg([], title="T", reference="r")
    assert "No entry with flips yet" in empty and "nfr-limit" not in empty


def test_a_task_owner_manages_references_but_sees_no_private_score_before_the_reveal(case):
    task, ann = case["task"], case["ann"]
    task.owner_team = ann.team
    task.save(update_fields=["owner_team"])
    url = f"/api/v1/tasks/{task.slug}/references/"
    created = ann.api().post(url, {"name": "owner's model", "file": upload(case["files"]["bo"])})
    assert created.status_code == 201, created.json()
    for item in [created.json(), *ann.api().get(url).json()]:
        assert item["private_score"] is None and set(item["scores"]) <= {"public"}
    org = api_client_for(organizer()).get(url).json()
    assert all(item["private_score"] is not None for item in org)


@override_settings(SUBMISSION_MAX_BYTES=2048)
def test_a_file_over_the_cap_is_refused_by_the_api_before_scoring(case):
    task = case["task"]
    huge = b"id,label\n" + b"t0000,a\n" * 1000  # 8 KB > 2 KiB
    response = api_client_for(organizer()).post(
        f"/api/v1/tasks/{task.slug}/references/", {"name": "huge", "file": upload(huge)}
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "reference_refused",
        "detail": "The reference file is 7.8 KiB; the limit is 2 KiB, as for submissions.",
    }
    assert not Reference.objects.filter(name="huge").exists()


def test_the_submission_page_lists_flips_against_every_reference(case):
    task, bo = case["task"], case["bo"]
    client = Client()
    client.force_login(bo.user)
    page = client.get(f"/submissions/{case['subs']['bo'].pk}/").content.decode()
    nfr, _ = naive_nfr(task, case["files"]["bo"], case["files"]["base"], "public")
    row = page.split('data-split="public" data-reference="AutoGluon baseline"')[1].split("</tr>")[0]
    assert f"{nfr * 100:.2f}%" in row
    assert 'data-split="private"' not in page  # until the reveal
    assert 'data-reference="Trivial baseline"' in page


def test_organizers_set_both_options_in_the_console(case):
    track = case["task"].track
    client = Client()
    client.force_login(organizer())
    challenge_form = client.get(
        f"/admin/challenges/challenge/{track.challenge.pk}/change/"
    ).content.decode()
    assert 'name="flip_examples"' in challenge_form
    assert "Hidden while the challenge runs, shown after its end" in challenge_form
    track_form = client.get(f"/admin/challenges/track/{track.pk}/change/").content.decode()
    assert 'name="prize_max_nfr"' in track_form


def test_build_references_command_builds_the_trivial_baseline_once(module_tasks):
    from io import StringIO

    from django.core.management import CommandError, call_command

    task = module_tasks["matching"]
    out = StringIO()
    call_command("build_references", "--task", task.slug, stdout=out)
    assert f"{task.slug}: trivial public score 0.0; AutoGluon none yet" in out.getvalue()
    call_command("build_references", "--task", task.slug, stdout=StringIO())
    assert Reference.objects.filter(task=task, source="trivial").count() == 1
    with pytest.raises(CommandError, match="There is no task 'nope'"):
        call_command("build_references", "--task", "nope")


def test_the_task_page_shows_reference_rows_without_a_pending_interval(case):
    """A reference is no submission: its row says "—" for the interval and the count, not
    "pending" forever (the bootstrap ranks submissions only)."""
    task = case["task"]
    page = Client().get(f"/tasks/{task.slug}/leaderboard/").content.decode()
    row = page.split('data-team="Trivial baseline"')[1].split("</tr>")[0]
    assert "pending" not in row and "reference" in row
    cells = [c.split(">", 1)[1].split("</td>")[0] for c in row.split("<td")[1:]]
    assert "—" in cells[-2]  # submissions
    ann = page.split('data-team="Ann"')[1].split("</tr>")[0]
    assert "pending" not in ann  # the bootstrap ran: a real interval
    base = next(r for r in page.split("<tr")[1:] if "badge primary" in r).split("</tr>")[0]
    nfr_cell = base.split('data-column="nfr">')[1].split("</td>")[0]
    assert "—" in nfr_cell and "%" not in nfr_cell  # the primary against itself: no flips
