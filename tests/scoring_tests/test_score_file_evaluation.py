"""``score_file`` prints ``opis``, and ``nfr``/``pfr`` with ``--reference``
(docs/architecture.md §11)."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from tests.scoring_tests.core_grouping_helpers import naive_flips
from tests.scoring_tests.core_opis_helpers import naive_classification, naive_matching
from tests.scoring_tests.factories import (
    ChallengeFactory,
    csv_bytes,
    imported_task,
    predictions_frame,
    solution_frame,
)

pytestmark = pytest.mark.django_db


def run(task, *paths, reference=None) -> dict:
    out = StringIO()
    args = ["score_file", "--task", task.slug, *map(str, paths)]
    if reference is not None:
        args += ["--reference", str(reference)]
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def split_rows(task) -> dict[str, list[int]]:
    split = solution_frame(task)["split"].tolist()
    return {
        "all": list(range(len(split))),
        "public": [i for i, s in enumerate(split) if s == "public"],
        "private": [i for i, s in enumerate(split) if s == "private"],
    }


def test_classification_opis_and_flips_against_a_reference(tmp_path):
    task = imported_task(tmp_path, kind="classification", rows=160)
    task.opis = {**task.opis, "min_group_rows": 5}
    task.save(update_fields=["opis"])
    new, ref = predictions_frame(task, seed=1), predictions_frame(task, seed=2, wrong=0.5)
    (tmp_path / "new.csv").write_bytes(csv_bytes(new))
    (tmp_path / "ref.csv").write_bytes(csv_bytes(ref.sample(frac=1.0, random_state=0)))

    plain = run(task, tmp_path / "new.csv")
    got = run(task, tmp_path / "new.csv", reference=tmp_path / "ref.csv")

    classes = list(task.classes)
    truth = solution_frame(task)["label"].map(classes.index).to_numpy()
    proba = new[[f"proba_{c}" for c in classes]].to_numpy()
    pred = new["label"].map(classes.index).to_numpy()
    ref_pred = ref["label"].map(classes.index).to_numpy()
    for split, rows in split_rows(task).items():
        expected = naive_classification(proba, truth, rows, 0.05, 0.95, 5)
        assert got[split]["opis"] == pytest.approx(expected)
        assert {k: v for k, v in got[split].items() if k not in ("nfr", "pfr")} == plain[split]
        flips = naive_flips(truth, pred, ref_pred, rows)
        assert got[split]["nfr"] == pytest.approx(flips["nfr"])
        assert got[split]["pfr"] == pytest.approx(flips["pfr"])
    assert "nfr" not in plain["all"]
    assert got["all"]["nfr"] > 0 and got["all"]["pfr"] > 0


def test_matching_opis_uses_the_group_column(tmp_path):
    rng = np.random.default_rng(5)

    def with_shop(frame):
        frame["left_brand"] = rng.choice(["north", "south", "east"], len(frame))
        return frame

    task = imported_task(tmp_path, kind="matching", rows=200, test=with_shop)
    frame = predictions_frame(task, seed=3)
    (tmp_path / "m.csv").write_bytes(csv_bytes(frame))
    assert "opis" not in run(task, tmp_path / "m.csv")["all"], "no group column: no OPIS"

    task.opis = {
        **task.opis,
        "group_column": "left_brand",
        "group_source": "test",
        "range": [0.1, 0.9],
        "min_group_rows": 3,
    }
    task.save(update_fields=["opis"])
    got = run(task, tmp_path / "m.csv")
    with task.test_parquet.open("rb") as handle:
        test = pd.read_parquet(handle, columns=["id", "left_brand"])
    solution = solution_frame(task)
    # The test file's rows need not be in the solution's order: align the groups by id.
    shops = test.set_index(test["id"].astype(str))["left_brand"].loc[solution["id"].astype(str)]
    codes = shops.map({"north": 0, "south": 1, "east": 2}).to_numpy()
    truth = solution["label"].astype(int).to_numpy()
    for split, rows in split_rows(task).items():
        expected = naive_matching(frame["score"].to_numpy(), truth, codes, rows, 0.1, 0.9, 3)
        assert got[split]["opis"] == pytest.approx(expected)


def test_an_invalid_reference_is_a_one_line_error(tmp_path):
    task = imported_task(tmp_path, kind="matching", challenge=ChallengeFactory())
    (tmp_path / "m.csv").write_bytes(csv_bytes(predictions_frame(task)))
    (tmp_path / "bad.csv").write_bytes(b"id,label\nnope,1\n")
    with pytest.raises(CommandError) as caught:
        run(task, tmp_path / "m.csv", reference=tmp_path / "bad.csv")
    assert caught.value.returncode == 1
    message = str(caught.value)
    assert message.startswith("The reference file is invalid: The ids do not match")
    assert "\n" not in message
    with pytest.raises(CommandError, match="There is no file"):
        run(task, tmp_path / "m.csv", reference=tmp_path / "missing.csv")


def test_a_grouping_file_prints_the_pairwise_and_bcubed_metrics(tmp_path):
    from datasets.services import task_import
    from tests.datasets_tests.core_grouping_helpers import grouping_bundle
    from tests.scoring_tests.grouping_end_to_end_helpers import naive_pairwise_f1

    task = task_import(
        source=grouping_bundle(tmp_path / "bundle"), challenge_slug="gs", track_slug="groups"
    )
    truth = solution_frame(task)
    entities = sorted(truth["label"].unique())
    clusters = truth["label"].where(truth["label"] != entities[1], entities[0])
    frame = pd.DataFrame({"id": truth["id"], "cluster": "c-" + clusters.astype(str)})
    (tmp_path / "g.csv").write_bytes(csv_bytes(frame))
    (tmp_path / "ref.csv").write_bytes(
        csv_bytes(pd.DataFrame({"id": truth["id"], "cluster": truth["label"].astype(str)}))
    )
    got = run(task, tmp_path / "g.csv", reference=tmp_path / "ref.csv")
    names = {"pairwise_precision", "pairwise_recall", "pairwise_f1", "bcubed_f1"}
    for split, rows in split_rows(task).items():
        assert set(got[split]) == names, (
            "docs/architecture.md §11 names; no flips for cluster ids"
        )
        expected = naive_pairwise_f1(
            truth["label"].iloc[rows].tolist(), frame["cluster"].iloc[rows].tolist()
        )
        assert got[split]["pairwise_f1"] == pytest.approx(expected)
