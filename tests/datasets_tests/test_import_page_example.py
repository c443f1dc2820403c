"""The import page's ``task.yaml`` example (docs/organizers/import-a-task.md) is one the import
takes: read by the real reader with no problem, with every key the reader accepts, and, in a
bundle whose tables have its columns, validated whole (types, slices, stress, leak probe)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from datasets.core import validate_bundle
from datasets.core.spec import KEYS, read_task_spec
from kinds.registry import KINDS
from testkit.bundles import write_classification_bundle

PAGE = Path(__file__).resolve().parents[2] / "docs" / "organizers" / "import-a-task.md"


def examples() -> list[str]:
    """The page's ``yaml`` blocks: the whole example, then a kind's own keys."""
    section = PAGE.read_text(encoding="utf-8").split("## An example `task.yaml`", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.S)


def test_the_example_names_every_key_the_reader_accepts() -> None:
    whole, own = (yaml.safe_load(block) for block in examples())
    assert sorted(set(KEYS) - set(whole)) == []
    options = {key for kind in KINDS.values() for key in kind.options}
    assert options and sorted(options - set(whole) - set(own)) == []


def test_the_example_is_read_without_a_problem(tmp_path: Path) -> None:
    whole, own = examples()
    (tmp_path / "task.yaml").write_text(whole, encoding="utf-8")
    spec, problems = read_task_spec(tmp_path)
    assert problems == []
    assert (spec.slug, spec.kind) == ("product-categories", "classification")
    assert spec.metric == "accuracy"
    assert spec.slices == ("color",) and spec.about["rai"]

    merged = {**yaml.safe_load(whole), **yaml.safe_load(own)}
    (tmp_path / "task.yaml").write_text(yaml.safe_dump(merged), encoding="utf-8")
    spec, problems = read_task_spec(tmp_path)
    assert problems == []
    assert spec.kind == "regression" and spec.options == {"tolerance": 0.5}


def test_a_bundle_with_the_example_is_valid(tmp_path: Path) -> None:
    """The example's columns are the test bundle's (title, price, color), so every check that
    reads the tables (declared types, slices, stress families) runs on it too."""
    whole, _ = examples()
    bundle = write_classification_bundle(tmp_path / "bundle", files={"task.yaml": whole})
    validated = validate_bundle(bundle)
    assert validated.spec.slug == "product-categories"


def test_a_broken_example_would_fail(tmp_path: Path) -> None:
    """The blocks are the page's, and the reader refuses a misspelt kind in them."""
    assert len(examples()) == 2
    broken = examples()[0].replace("kind: classification", "kind: clasification")
    (tmp_path / "task.yaml").write_text(broken, encoding="utf-8")
    _, problems = read_task_spec(tmp_path)
    assert any("kind must be one of" in problem for problem in problems)
