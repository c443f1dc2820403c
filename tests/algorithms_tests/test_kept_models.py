"""The worker's side of the baseline's model handover (algorithms/services/kept_models.py):
it moves the packed model out of a run's output without reading it, never through a link,
shows it only to that clean run's baseline stress run, and sweeps what no stress run took."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from algorithms.services import kept_models
from algorithms.services.kept_models import (
    kept_model_drop,
    kept_model_keep,
    kept_model_path,
    kept_models_sweep,
    model_handover,
)
from algorithms.services.profiles import BASELINE_STRESS, STRESS, TEAM


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path: Path) -> None:
    settings.DATA_DIR = str(tmp_path / "data")


def _output(tmp_path: Path, data: bytes = b"tar bytes") -> Path:
    output = tmp_path / "output"
    output.mkdir(parents=True)
    (output / "model.tar").write_bytes(data)
    return output


def test_a_packed_model_is_moved_unread_and_shown_to_its_stress_run_only(tmp_path: Path) -> None:
    kept = kept_model_keep(run=SimpleNamespace(pk=7), output=_output(tmp_path))
    assert kept == kept_model_path(run_pk=7) and kept.read_bytes() == b"tar bytes"
    assert not (tmp_path / "output" / "model.tar").exists()

    stress = SimpleNamespace(stress_of_id=7)
    assert model_handover(run=stress, profile=BASELINE_STRESS) == (
        {"BASELINE_MODEL_FROM": "/kept/model.tar"},
        kept,
    )
    # Another clean run's stress run, a team's stress run, a team's run: nothing.
    assert model_handover(run=SimpleNamespace(stress_of_id=8), profile=BASELINE_STRESS) == (
        {},
        None,
    )
    assert model_handover(run=stress, profile=STRESS) == ({}, None)
    assert model_handover(run=stress, profile=TEAM) == ({}, None)

    kept_model_drop(run_pk=7)
    assert not kept.exists()
    assert model_handover(run=stress, profile=BASELINE_STRESS) == ({}, None)


def test_a_link_or_a_folder_in_place_of_the_model_is_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("not the run's")
    output = tmp_path / "output"
    output.mkdir()
    (output / "model.tar").symlink_to(secret)
    assert kept_model_keep(run=SimpleNamespace(pk=1), output=output) is None
    assert not kept_model_path(run_pk=1).exists() and secret.read_text() == "not the run's"

    (output / "model.tar").unlink()
    (output / "model.tar").mkdir()
    assert kept_model_keep(run=SimpleNamespace(pk=2), output=output) is None
    assert kept_model_keep(run=SimpleNamespace(pk=3), output=tmp_path / "none") is None

    # A link planted where the kept file goes is not shown to the stress run either.
    kept_model_path(run_pk=4).symlink_to(secret)
    assert model_handover(run=SimpleNamespace(stress_of_id=4), profile=BASELINE_STRESS) == (
        {},
        None,
    )


def test_the_sweep_removes_only_what_no_stress_run_took_in_a_day(tmp_path: Path) -> None:
    old = kept_model_keep(run=SimpleNamespace(pk=1), output=_output(tmp_path / "a"))
    new = kept_model_keep(run=SimpleNamespace(pk=2), output=_output(tmp_path / "b"))
    day_ago = time.time() - kept_models.KEEP_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    assert kept_models_sweep() == [old]
    assert not old.exists() and new.exists()
    assert kept_models_sweep(now=time.time() + kept_models.KEEP_SECONDS + 60) == [new]
