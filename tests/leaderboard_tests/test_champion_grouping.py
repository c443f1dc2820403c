"""The release check on a grouping task (entity memberships, entities as the unit, the
entity bootstrap of pairwise F1), against the trivial baseline (every record alone)."""

from __future__ import annotations

import pandas as pd
import pytest

from datasets.services import task_import
from tests.datasets_tests.core_grouping_helpers import grouping_bundle
from tests.leaderboard_tests.champion_api_helpers import check
from tests.scoring_tests.factories import csv_bytes, make_participant, solution_frame

pytestmark = pytest.mark.django_db


def test_a_perfect_grouping_fixes_every_multi_record_entity_and_breaks_none(tmp_path):
    task = task_import(
        source=grouping_bundle(tmp_path / "bundle", rows=400), challenge_slug="g", track_slug="gr"
    )
    ann = make_participant(task.track.challenge, username="ann")
    truth = solution_frame(task)
    perfect = pd.DataFrame({"id": truth["id"], "cluster": "c-" + truth["label"].astype(str)})
    document = check(ann.api(), task, file=csv_bytes(perfect)).json()
    assert document["champion"]["name"] == "Trivial baseline"
    public = truth[truth["split"] == "public"]
    sizes = public.groupby("label").size()
    assert document["mcnemar"] == {"fixes": int((sizes > 1).sum()), "breaks": 0, "p": None}
    assert document["nfr"] == 0 and document["pfr"] == pytest.approx((sizes > 1).mean())
    assert document["difference"] == pytest.approx(1.0)  # pairwise F1: 0 -> 1
    assert document["ci"][0] > 0  # every resample of entities has pairs to find

    # Merging two entities breaks both memberships (the records of each are no longer a
    # cluster of their own), where the trivial baseline had singletons right.
    singles = sizes[sizes == 1].index[:2].tolist()
    merged = perfect.copy()
    merged.loc[truth["label"].isin(singles), "cluster"] = "c-merged"
    broken = check(ann.api(), task, file=csv_bytes(merged)).json()
    assert broken["mcnemar"]["breaks"] == 2
    assert broken["nfr"] == pytest.approx(2 / len(sizes))
