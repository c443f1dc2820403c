"""The import's leak probe and task.yaml's stress families (docs/organizers/stress.md): ids or a row
order that give the labels away are found (and random ones are not, counted by
simulation); the import warns, refuses or does not check as the organizer chose; a stress
plan that cannot apply is refused with task.yaml's line of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from datasets.core.leakprobe import MIN_ROWS, leak_probe
from datasets.services import TaskImportError, task_import
from kinds import kind_get
from testkit.bundles import write_classification_bundle, write_matching_bundle
from tests.support.celery_worker import run_manage

ROWS = 300


def _ids(n: int) -> pa.Array:
    return pa.array([f"c{i:05d}" for i in range(n)])


def test_planted_leaks_are_found_and_random_ids_are_not():
    """Planted truth, counted over repetitions: every sorted file, class-named id and
    id-ordered number is found; random labels raise (almost) no false alarm."""
    kind = kind_get("classification")
    rng = np.random.default_rng(0)
    found = false_alarms = 0
    runs = 30
    for seed in range(runs):
        labels = np.array(["bird", "cat", "dog"])[rng.integers(0, 3, ROWS)]
        if leak_probe(kind=kind, ids=_ids(ROWS), labels=pa.array(labels), seed=seed):
            false_alarms += 1
        leaky = np.sort(labels)  # a file sorted by class, numbered afterwards
        found += (
            leak_probe(kind=kind, ids=_ids(ROWS), labels=pa.array(leaky), seed=seed) is not None
        )
    assert found == runs
    assert false_alarms <= 1  # the margin is 3 standard errors and at least 0.05
    named = pa.array([f"{label}-{i}" for i, label in enumerate(labels)])
    assert leak_probe(kind=kind, ids=named, labels=pa.array(labels)) is not None
    trend = np.arange(ROWS) + rng.normal(0, 20, ROWS)
    found = leak_probe(kind=kind_get("regression"), ids=_ids(ROWS), labels=pa.array(trend))
    assert found is not None and found.metric == "R²"
    noise = rng.normal(size=ROWS)
    assert leak_probe(kind=kind_get("regression"), ids=_ids(ROWS), labels=pa.array(noise)) is None


def test_grouping_and_small_files_are_not_probed():
    entities = pa.array(np.repeat([f"e{i}" for i in range(ROWS // 3)], 3))
    assert leak_probe(kind=kind_get("grouping"), ids=_ids(len(entities)), labels=entities) is None
    labels = pa.array(np.sort(np.array(["a", "b"] * (MIN_ROWS // 2 - 1))))
    assert leak_probe(kind=kind_get("classification"), ids=_ids(len(labels)), labels=labels) is None


def _sorted_bundle(path: Path, **task) -> Path:
    return write_classification_bundle(
        path,
        rows=ROWS,
        task=task,
        train=lambda df: df.sort_values("label", kind="stable").assign(
            id=[f"c{i:04d}" for i in range(len(df))]
        ),
    )


@pytest.mark.django_db(transaction=True)
def test_the_import_warns_by_default_refuses_when_asked_and_can_be_told_not_to_check(tmp_path):
    task = task_import(
        source=_sorted_bundle(tmp_path / "warned"), challenge_slug="cup", track_slug="kway"
    )
    (warning,) = [w for w in task.import_warnings if "predict 'label'" in w]
    assert warning.startswith("train.csv: the ids or the row order alone predict 'label'")
    assert "against 0.333 for the majority class" in warning and "leak_probe: off" in warning

    with pytest.raises(TaskImportError) as refused:
        task_import(
            source=_sorted_bundle(tmp_path / "refused", slug="refused"),
            challenge_slug="cup",
            track_slug="kway",
            leak_probe="refuse",
        )
    assert any("predict 'label'" in p for p in refused.value.problems)

    quiet = task_import(
        source=_sorted_bundle(tmp_path / "quiet", slug="quiet", leak_probe="off"),
        challenge_slug="cup",
        track_slug="kway",
    )
    assert not [w for w in quiet.import_warnings if "predict 'label'" in w]
    with pytest.raises(TaskImportError, match="leak_probe must be one of warn, refuse, off"):
        task_import(
            source=_sorted_bundle(tmp_path / "bad", slug="bad", leak_probe="maybe"),
            challenge_slug="cup",
            track_slug="kway",
        )


@pytest.mark.django_db(transaction=True)
def test_import_task_refuses_a_leak_with_the_flag_and_exit_1(tmp_path):
    folder = _sorted_bundle(tmp_path / "bundle")
    result = run_manage(
        "import_task", str(folder), "--challenge", "cli", "--track", "t", "--leak-probe", "refuse"
    )
    assert result.returncode == 1
    assert "the ids or the row order alone predict 'label'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_manage("import_task", str(folder), "--challenge", "cli", "--track", "t")
    assert result.returncode == 0, result.stderr
    assert "warning: train.csv: the ids or the row order alone predict 'label'" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_task_yaml_stress_is_checked_against_the_columns_and_kept_in_task_json(tmp_path):
    with pytest.raises(TaskImportError) as refused:
        task_import(
            source=write_matching_bundle(
                tmp_path / "bad",
                task={"stress": [{"family": "unseen_levels"}, {"family": "typos", "share": 2}]},
            ),
            challenge_slug="cup",
            track_slug="match",
        )
    assert refused.value.problems[:2] == [
        "task.yaml: stress[0]: unknown family 'unseen_levels' for matching tasks; the families"
        " are: typos, token_drop, abbreviation, case_punct, transliteration, drop_attribute,"
        " swap_values, shuffle_columns, noise_columns, duplicate_rate",
        "task.yaml: stress[1]: the share of 'typos' must be a number in (0, 1] (of the clean"
        " test rows), not 2",
    ]
    task = task_import(
        source=write_matching_bundle(
            tmp_path / "good", task={"stress": ["typos", {"family": "swap_values", "share": 0.2}]}
        ),
        challenge_slug="cup",
        track_slug="match",
    )
    assert task.meta["stress"] == [
        {"family": "typos", "strength": 0.5, "share": 0.8},
        {"family": "swap_values", "strength": 0.5, "share": 0.2},
    ]
    plain = task_import(
        source=write_classification_bundle(tmp_path / "plain"), challenge_slug="cup", track_slug="k"
    )
    assert plain.meta["stress"] is None  # every family that applies
