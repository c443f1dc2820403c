"""The baseline's model handed from a clean run to its stress run
(algorithms/builtin/autogluon/kept.py): packed once, loaded only when fitted on the very same
inputs, and the predictions of a loaded model are the fitted model's, to the bit."""

from __future__ import annotations

import io
import json
import tarfile
from argparse import Namespace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from algorithms.builtin.autogluon import kept
from tests.scoring_tests.baseline_runner_helpers import make_classification_task, run_baseline

SAFETY_SECONDS = 300
INPUTS = {
    "train": "abc",
    "presets": "medium_quality",
    "columns": [{"name": "x", "type": "numeric"}],
}


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_model_fitted_on_the_same_inputs_is_unpacked(tmp_path: Path) -> None:
    source = _tar(
        tmp_path / "model.tar",
        {"model/baseline-inputs.json": json.dumps(INPUTS).encode(), "model/predictor.pkl": b"x"},
    )
    folder, reason = kept.unpack(source=source, into=tmp_path / "into", inputs=dict(INPUTS))
    assert reason == "" and folder == tmp_path / "into" / "model"
    assert (folder / "predictor.pkl").read_bytes() == b"x"


def test_a_model_fitted_on_other_inputs_is_refused_and_says_which(tmp_path: Path) -> None:
    source = _tar(
        tmp_path / "model.tar", {"model/baseline-inputs.json": json.dumps(INPUTS).encode()}
    )
    other = {**INPUTS, "train": "abd"}
    folder, reason = kept.unpack(source=source, into=tmp_path / "into", inputs=other)
    assert folder is None and reason == "the packed model was fitted on other inputs (train)"
    assert not (tmp_path / "into").exists()


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"model/predictor.pkl": b"x"}, "could not be read (FileNotFoundError"),
        ({"model/baseline-inputs.json": b"[1, 2]"}, "fitted on other inputs"),
        ({"model/baseline-inputs.json": b"{not json"}, "could not be read (JSONDecodeError"),
        ({"../../escaped.json": b"{}"}, "could not be read (OutsideDestinationError"),
        ({"/etc/absolute.json": b"{}"}, "could not be read (FileNotFoundError"),
    ],
)
def test_a_hostile_or_broken_packed_model_is_refused_and_writes_nothing_outside(
    tmp_path: Path, members: dict[str, bytes], expected: str
) -> None:
    """The stress run reads the tar inside its sandbox; still, it stays in its folder."""
    source = _tar(tmp_path / "model.tar", members)
    into = tmp_path / "a" / "b" / "into"
    folder, reason = kept.unpack(source=source, into=into, inputs=dict(INPUTS))
    assert folder is None and expected in reason, reason
    assert not (tmp_path / "a" / "escaped.json").exists() and not into.exists()


def test_garbage_instead_of_a_tar_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "model.tar"
    source.write_bytes(b"\x00garbage" * 100)
    folder, reason = kept.unpack(source=source, into=tmp_path / "into", inputs=dict(INPUTS))
    assert folder is None and "could not be read" in reason
    missing, why = kept.unpack(source=tmp_path / "none.tar", into=tmp_path / "x", inputs={})
    assert missing is None and why.startswith("no packed model at")


def test_the_inputs_name_the_train_file_byte_for_byte_and_the_options(tmp_path: Path) -> None:
    task = make_classification_task(tmp_path, n_train=40, n_test=10)
    args = Namespace(
        task_dir=task.path,
        presets="medium_quality",
        without_models="CAT",
        max_train_rows=0,
        num_cpus=2,
        memory_limit_gb=4.0,
    )
    first = kept.fit_inputs(args)
    assert first == kept.fit_inputs(args)
    assert kept.fit_inputs(Namespace(**{**vars(args), "without_models": ""})) != first
    assert kept.fit_inputs(Namespace(**{**vars(args), "max_train_rows": 30})) != first
    train = task.path / "train.parquet"
    train.write_bytes(train.read_bytes() + b"\x00")
    assert kept.fit_inputs(args)["train"] != first["train"]
    # A run's /task holds the images unpacked: one image's bytes change the inputs too.
    assert first["images"] is not None
    (task.path / "images.zip").rename(tmp_path / "images.zip")
    folder = task.path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"one")
    unpacked = kept.fit_inputs(args)["images"]
    assert unpacked is not None and unpacked == kept.fit_inputs(args)["images"]
    (folder / "a.png").write_bytes(b"two")
    assert kept.fit_inputs(args)["images"] != unpacked


@pytest.mark.slow
def test_a_handed_over_model_predicts_what_the_fitted_one_did_and_skips_the_fit(
    tmp_path: Path,
) -> None:
    """The clean run packs its model; a run on the same task shown that file loads it instead
    of fitting, and its predictions are the clean run's to the bit (the stress run's copies are
    predicted by the very model its clean run was scored with)."""
    task = make_classification_task(tmp_path)
    report, out = _run(tmp_path / "clean", task.path, BASELINE_PACK_MODEL="1")
    assert report["model_packed_bytes"] == (out / kept.MODEL_TAR).stat().st_size > 0
    fitted = pd.read_parquet(out / "predictions.parquet")

    handed = {"model_file": out / kept.MODEL_TAR, "BASELINE_MODEL_FROM": "/kept/model.tar"}
    again, out2 = _run(tmp_path / "handed", task.path, **handed)
    assert again["model_reused"] is True and "model_reuse_declined" not in again
    assert again["best_model"] == report["best_model"]
    assert "Fitting model" not in (out2 / "fit.log").read_text()
    pd.testing.assert_frame_equal(pd.read_parquet(out2 / "predictions.parquet"), fitted)

    # Other options (XGBoost left out too): not the model these options fit, so it fits.
    declined, out3 = _run(
        tmp_path / "other", task.path, **handed, BASELINE_WITHOUT_MODELS="CAT,XGB"
    )
    assert "model_reused" not in declined
    assert declined["model_reuse_declined"] == (
        "the packed model was fitted on other inputs (without_models)"
    )
    assert "Fitting model" in (out3 / "fit.log").read_text()


def _run(root: Path, task_dir: Path, **env: Any) -> tuple[dict[str, Any], Path]:
    """The baseline in the real sandbox (CatBoost left out unless ``env`` says otherwise):
    its result.json and its /output folder."""
    env.setdefault("BASELINE_WITHOUT_MODELS", "CAT")
    result, out = run_baseline(
        root, task_dir, time_limit=SAFETY_SECONDS, wall=SAFETY_SECONDS + 60, **env
    )
    assert result.ok, (result.message, result.log_tail[-3000:])
    return json.loads((out / "result.json").read_text()), out
