"""A corpus of broken bundles: each is refused with its own plain-words reason.

Every case runs as a folder and as a zip; a refused zip leaves nothing behind outside its
(then empty) staging folder, and no task folder is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets.core import BundleInvalid, prepare_task, validate_bundle
from testkit.bundles import (
    write_classification_bundle,
    zip_bundle,
)

from .core_broken_helpers import (  # noqa: F401
    CASES,
    C,
    Case,
    M,
    R,
    outside_images,
    parquet_bytes,
    renaming,
    setting,
)


def _snapshot(root: Path, keep: Path) -> set[str]:
    """Every path under ``root`` except those inside ``keep``."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if keep not in p.parents}


@pytest.mark.parametrize("container", ["folder", "zip"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_bundle_is_refused_with_its_reason(
    tmp_path: Path, case: Case, container: str
) -> None:
    source = case.build(tmp_path / "bundle")
    if container == "zip":
        source = zip_bundle(source, tmp_path / "bundle.zip")
    work = tmp_path / "work"
    before = _snapshot(tmp_path, keep=work / "bundle")

    with pytest.raises(BundleInvalid) as refused:
        prepare_task(source, work_dir=work, **case.caps)

    problems = refused.value.problems
    assert any(all(word in p for word in case.words) for p in problems), problems
    assert not (work / "task").exists()
    after = _snapshot(tmp_path, keep=work / "bundle")
    assert after - before <= {"work", "work/bundle"}


def test_corpus_covers_at_least_twenty_rules() -> None:
    assert len({c.words for c in CASES}) >= 20


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b",
        task={"slug": "Not A Slug"},
        train=setting("id", 1, "c0000"),
        test=lambda df: df.assign(label="cat"),
    )
    with pytest.raises(BundleInvalid) as refused:
        validate_bundle(bundle)
    problems = refused.value.problems
    assert len(problems) == 3, problems
    assert "slug 'Not A Slug' is invalid" in problems[0]
    assert "train.csv: ids appear more than once" in problems[1]
    assert "test.csv must not contain a 'label' column" in problems[2]
    assert str(refused.value).startswith("the bundle has 3 problems:\n- ")


def test_yaml_tags_are_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    yaml_text = (
        f"slug: !!python/object/apply:os.system ['touch {marker}']\n"
        "title: x\nkind: classification\n"
    )
    bundle = write_classification_bundle(tmp_path / "b", files={"task.yaml": yaml_text})
    with pytest.raises(BundleInvalid) as refused:
        validate_bundle(bundle)
    assert not marker.exists()
    assert any("tag that is not allowed" in p for p in refused.value.problems)


def test_python_object_tag_is_refused(tmp_path: Path) -> None:
    yaml_text = "!!python/object:collections.OrderedDict {slug: x}\n"
    bundle = write_classification_bundle(tmp_path / "b", files={"task.yaml": yaml_text})
    with pytest.raises(BundleInvalid) as refused:
        validate_bundle(bundle)
    assert any("tag that is not allowed" in p for p in refused.value.problems)


def test_problems_name_at_most_five_examples(tmp_path: Path) -> None:
    bundle = write_classification_bundle(tmp_path / "b", train=setting("id", list(range(20)), None))
    with pytest.raises(BundleInvalid) as refused:
        validate_bundle(bundle)
    [problem] = [p for p in refused.value.problems if "empty id" in p]
    assert "20 rows" in problem
    assert "at data rows 1, 2, 3, 4, 5 and 15 more" in problem
