"""A corpus of broken bundles, each refused by ``task_import`` with its own message.

After every refusal: no Task row, no challenge or track created, no new file anywhere under
DATA_DIR (media, private, staging), and the staging folder holds no more than before. The
hostile cases prove that nothing was executed (YAML tags) or written outside the bundle
(zip-slip).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from challenges.models import Challenge, Track
from datasets.models import Task
from datasets.services import TaskImportError, task_import
from testkit.bundles import (
    DROP,
    png_bytes,
    write_classification_bundle,
    write_matching_bundle,
    write_zip,
    zip_bundle,
)
from testkit.demo_data import data_dir_files

pytestmark = pytest.mark.django_db

MARKER = "yaml-executed-" + uuid.uuid4().hex
EVIL = "evil-" + uuid.uuid4().hex + ".txt"


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]  # tmp_path -> the bundle (folder or zip) to import
    words: tuple[str, ...]  # each must appear in one of the problems


def C(**overrides) -> Callable[[Path], Path]:
    return lambda tmp: write_classification_bundle(tmp / "bundle", **overrides)


def M(**overrides) -> Callable[[Path], Path]:
    return lambda tmp: write_matching_bundle(tmp / "bundle", **overrides)


def zipped(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
    return lambda tmp: zip_bundle(build(tmp), tmp / "bundle.zip")


def yaml_payload(tmp: Path) -> Path:
    marker = tmp / MARKER
    text = (
        f'slug: !!python/object/apply:os.system ["touch {marker}"]\n'
        "title: Innocent\nkind: classification\n"
    )
    return write_classification_bundle(tmp / "bundle", files={"task.yaml": text})


def zip_slip(tmp: Path) -> Path:
    folder = write_classification_bundle(tmp / "bundle")
    members = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    members[f"../../{EVIL}"] = "owned"
    members[f"../../../../../../../../../tmp/{EVIL}"] = "owned"
    return write_zip(tmp / "slip.zip", members)


def absolute_member(tmp: Path) -> Path:
    folder = write_classification_bundle(tmp / "bundle")
    members = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    members[f"/tmp/{EVIL}"] = "owned"
    return write_zip(tmp / "absolute.zip", members)


def not_a_zip(tmp: Path) -> Path:
    path = tmp / "bundle.zip"
    path.write_bytes(b"this is not an archive at all")
    return path


def symlink_member(tmp: Path) -> Path:
    import zipfile

    path = write_zip(tmp / "link.zip", {"task.yaml": "slug: x\n"})
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("train.csv")
        info.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
        archive.writestr(info, "/etc/passwd")
    return path


CASES = [
    Case("missing task.yaml", C(files={"task.yaml": None}), ("task.yaml is missing",)),
    Case(
        "YAML python tag",
        yaml_payload,
        ("task.yaml could not be read", "tag that is not allowed", "python/object/apply"),
    ),
    Case(
        "unparsable YAML", C(files={"task.yaml": "slug: [oops\n"}), ("task.yaml is not valid YAML",)
    ),
    Case("unknown kind", C(task={"kind": "forecasting"}), ("kind must be one of", "'forecasting'")),
    Case("invalid task slug", C(task={"slug": "Bad Slug!"}), ("slug 'Bad Slug!' is invalid",)),
    Case("missing title", C(task={"title": DROP}), ("task.yaml: title is missing",)),
    Case("no train file", C(files={"train.csv": None}), ("train.csv or train.parquet is missing",)),
    Case(
        "train in two formats",
        C(files={"train.parquet": b"PAR1"}),
        ("both train.csv and train.parquet are given",),
    ),
    Case(
        "train without label",
        C(train=lambda df: df.drop(columns="label")),
        ("train.csv: the 'label' column is missing",),
    ),
    Case(
        "labels in test",
        C(test=lambda df: df.assign(label="cat")),
        ("test.csv must not contain a 'label' column",),
    ),
    Case(
        "duplicate train ids",
        C(train=lambda df: df.assign(id=["c0001", *df["id"][1:]])),
        ("train.csv: ids appear more than once", "c0001"),
    ),
    Case(
        "solution ids differ from test",
        C(solution=lambda df: df.assign(id=[*df["id"][:-1], "zzz"])),
        ("test and solution ids differ", "'zzz'"),
    ),
    Case(
        "one class only",
        C(train=lambda df: df.assign(label="cat")),
        ("classification needs at least 2 classes",),
    ),
    Case(
        "matching labels not 0/1",
        M(train=lambda df: df.assign(label=["yes", *df["label"][1:]])),
        ("matching labels must be 0 or 1", "'yes'"),
    ),
    Case(
        "unpaired matching column",
        M(
            train=lambda df: df.drop(columns="right_brand"),
            test=lambda df: df.drop(columns="right_brand"),
        ),
        ("unpaired matching columns: left_brand (no right_brand)",),
    ),
    Case(
        "declared numeric holds text",
        C(task={"columns": {"title": "numeric"}}),
        ("column 'title' is declared numeric but holds values that are not numbers",),
    ),
    Case(
        "image file missing",
        C(images=True, files={"images/top.png": None}),
        ("column 'photo' names 1 image", "not found under images/", "'top.png'"),
    ),
    Case(
        "image not decodable",
        C(images=True, files={"images/top.png": b"not a png"}),
        ("could not be read as images", "'top.png'"),
    ),
    Case(
        "images folder without image columns",
        C(files={"images/a.png": png_bytes()}),
        ("images/ is present but no column holds image paths",),
    ),
    Case(
        "CSV not UTF-8",
        C(
            files={
                "test.csv": "id,title,price,color\nt0,café,1,red\nt1,crème,2,blue\n".encode(
                    "latin-1"
                )
            }
        ),
        ("test.csv is not UTF-8 text",),
    ),
    Case("zip-slip member", zip_slip, ("refused 2 members with '..' in the path", "'../../evil-")),
    Case(
        "absolute zip member",
        absolute_member,
        ("refused 1 member with an absolute path", "'/tmp/evil-"),
    ),
    Case("symlink zip member", symlink_member, ("refused 1 member with a symbolic link",)),
    Case("not a zip", not_a_zip, ("bundle.zip is neither a folder nor a .zip archive",)),
    Case(
        "zipped broken bundle",
        zipped(C(task={"public_fraction": 2})),
        ("public_fraction must be a number strictly between 0 and 1",),
    ),
    Case(
        "no such source", lambda tmp: tmp / "nowhere.zip", ("nowhere.zip: no such folder or file",)
    ),
]


def staged() -> set[Path]:
    """What the staging folder holds (an import's own folder must be gone after it)."""
    staging = Path(settings.DATA_DIR) / "staging"
    return set(staging.iterdir()) if staging.exists() else set()


def _ancestors_of_staging() -> list[Path]:
    staging = Path(settings.DATA_DIR) / "staging" / "import-x" / "bundle"
    return [staging, *staging.parents]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_bundle_is_refused_and_leaves_nothing_behind(tmp_path: Path, case: Case) -> None:
    source = case.build(tmp_path)
    before = data_dir_files()
    # What other tests of this process left in staging (the sandbox's memory ledger) stays.
    staged_before = staged()

    with pytest.raises(TaskImportError) as refused:
        task_import(source=source, challenge_slug="new-challenge", track_slug="new-track")

    problems = refused.value.problems
    for words in case.words:
        assert any(words in problem for problem in problems), (words, problems)
    assert not Task.objects.exists()
    assert not Challenge.objects.exists() and not Track.objects.exists()
    assert data_dir_files() == before
    assert staged() == staged_before
    # Nothing ran, nothing escaped: no YAML side effect, no member written above the bundle.
    assert not (tmp_path / MARKER).exists()
    for folder in [*_ancestors_of_staging(), tmp_path, Path("/tmp")]:
        assert not (folder / EVIL).exists(), folder


def test_every_problem_of_a_bundle_is_reported_at_once(tmp_path: Path) -> None:
    write_classification_bundle(
        tmp_path / "bundle",
        task={"kind": "forecasting", "public_fraction": 0},
        train=lambda df: df.assign(id=["c0001", *df["id"][1:]]),
        test=lambda df: df.assign(label="cat"),
    )
    with pytest.raises(TaskImportError) as refused:
        task_import(source=tmp_path / "bundle", challenge_slug="c", track_slug="t")
    text = "\n".join(refused.value.problems)
    for words in (
        "kind must be one of",
        "public_fraction must be a number",
        "train.csv: ids appear more than once",
        "test.csv must not contain a 'label' column",
    ):
        assert words in text
    assert str(refused.value).startswith("the task was not imported (")
