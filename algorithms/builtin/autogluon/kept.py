"""The fitted model handed from a baseline's clean run to its stress run.

A stress run fits the same model on the same rows as its clean run (same options, same seed:
the same predictions, docs/decisions/0011-a-reproducible-baseline.md), then predicts perturbed
copies of the test rows. The clean run may instead pack its model (``--pack-model``): the best
model and what it needs (the weighted ensemble's members), with the inputs it was fitted on,
as one uncompressed tar in ``/output``; the stress run is shown that tar read-only
(``--model-from``), unpacks it into its own ``/tmp`` (inside the sandbox: the platform never
reads it) and loads it when the inputs it records are its own, byte for byte. Anything else
(no tar, a different train file, options or AutoGluon, a tar that does not unpack or load)
is a reason, logged, and the stress run fits the model as before: the handover saves time,
it never changes a figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from . import budget
from .outputs import one_line

LOG = logging.getLogger("autogluon_baseline")
MODEL_TAR = "model.tar"
INPUTS = "baseline-inputs.json"
_CHUNK = 1024 * 1024


def _digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _images_digest(task_dir: Path) -> str | None:
    """``images.zip`` byte for byte, else every file of ``images/`` (names and bytes, in
    name order: what a run's ``/task`` holds); None without images."""
    archive = _digest(task_dir / "images.zip")
    folder = task_dir / "images"
    if archive is not None or not folder.is_dir():
        return archive
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update((_digest(path) or "").encode())
    return digest.hexdigest()


def fit_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """Everything the fitted model depends on: the train file and images byte for byte, the
    task's columns and classes, the options and the fixed budget, the AutoGluon version."""
    from autogluon.tabular import __version__ as ag_version

    task_dir = Path(args.task_dir)
    meta = json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
    return {
        "train": _digest(task_dir / "train.parquet"),
        "images": _images_digest(task_dir),
        "kind": meta.get("kind"),
        "columns": meta.get("columns"),
        "classes": meta.get("classes"),
        "presets": args.presets,
        "without_models": sorted(budget.left_out(args.without_models)),
        "max_train_rows": args.max_train_rows,
        "num_cpus": args.num_cpus,
        "memory_limit_gb": args.memory_limit_gb,
        **budget.fixed_work(),
        "autogluon": ag_version,
    }


def pack(predictor: Any, *, args: argparse.Namespace, inputs: dict[str, Any]) -> int:
    """Keep only the best model (and the models it needs), record ``inputs`` beside it and
    write ``/output/model.tar``; returns its size in bytes. Called after the predictions are
    written, so pruning never changes them."""
    predictor.delete_models(models_to_keep="best", dry_run=False)
    model_dir = Path(predictor.path)
    (model_dir / INPUTS).write_text(json.dumps(inputs, sort_keys=True), encoding="utf-8")
    target = Path(args.out_dir) / MODEL_TAR
    tmp = target.with_name(target.name + ".tmp")
    with tarfile.open(tmp, "w") as archive:  # uncompressed: written once, read once
        archive.add(model_dir, arcname="model")
    tmp.replace(target)
    return target.stat().st_size


def unpack(*, source: Path, into: Path, inputs: dict[str, Any]) -> tuple[Path | None, str]:
    """The model folder unpacked from ``source`` into ``into`` when it was fitted on
    ``inputs``; otherwise None and the reason."""
    if not source.is_file():
        return None, f"no packed model at {source}"
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    try:
        with tarfile.open(source, "r:") as archive:
            archive.extractall(into, filter="data")
        recorded = json.loads((into / "model" / INPUTS).read_text(encoding="utf-8"))
        inputs = json.loads(json.dumps(inputs, sort_keys=True))  # as recorded: lists, not tuples
    except (OSError, tarfile.TarError, ValueError) as exc:
        shutil.rmtree(into, ignore_errors=True)
        return None, f"the packed model could not be read ({type(exc).__name__}: {exc})"
    if not isinstance(recorded, dict) or recorded != inputs:
        recorded = recorded if isinstance(recorded, dict) else {}
        shutil.rmtree(into, ignore_errors=True)
        changed = sorted(k for k in {*recorded, *inputs} if recorded.get(k) != inputs.get(k))
        return None, f"the packed model was fitted on other inputs ({', '.join(changed)})"
    return into / "model", ""


def pack_if_asked(args: argparse.Namespace, result: dict[str, Any], predictor: Any) -> None:
    """``--pack-model``: the model for the stress run (after the predictions: pruning the
    other models never changes them). A model that cannot be packed is logged, not a
    failure: the stress run then fits its own."""
    if not args.pack_model or result.get("model_reused"):
        return
    try:
        result["model_packed_bytes"] = pack(predictor, args=args, inputs=args.fit_inputs)
    except Exception as exc:  # any failure only costs the stress run its time
        (args.out_dir / MODEL_TAR).unlink(missing_ok=True)
        LOG.warning("baseline: the model was not packed for the stress run: %s", one_line(exc))
        return
    LOG.info(
        "baseline: packed the model for the stress run (%d bytes)", result["model_packed_bytes"]
    )


def load_if_handed(args: argparse.Namespace, result: dict[str, Any]) -> Any:
    """The clean run's model (``--model-from``) when it was fitted on this run's inputs;
    None (and the reason, logged and in result.json) otherwise."""
    if args.model_from is None:
        return None
    from autogluon.tabular import TabularPredictor

    started = time.perf_counter()
    into = Path(tempfile.mkdtemp(prefix="kept-model-"))
    folder, reason = unpack(source=args.model_from, into=into, inputs=args.fit_inputs)
    predictor = None
    if folder is not None:
        try:
            predictor = TabularPredictor.load(str(folder), verbosity=2)
        except Exception as exc:  # a model that does not load is refitted
            reason = f"the packed model did not load ({one_line(exc)})"
    if predictor is None:
        shutil.rmtree(into, ignore_errors=True)
        result["model_reuse_declined"] = reason
        LOG.info("baseline: fitting the model (%s)", reason)
        return None
    result["model_reused"] = True
    result["fit_seconds"] = round(time.perf_counter() - started, 3)
    LOG.info(
        "baseline: loaded the clean run's model in %.1f s (same inputs)", result["fit_seconds"]
    )
    return predictor
