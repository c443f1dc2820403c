"""Hostile task.yaml and algorithm.yaml documents (issue 51): anchors and aliases refused
where they are met, a node-count cap, a refused value quoted in at most 100 characters,
and each refusal one plain problem, never an exception. Pure: no database."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import yaml

from algorithms.core.archive import ArchiveInvalid, validate_archive
from common import boundedyaml
from common.wording import QUOTE_MAX, quote
from datasets.core.spec import read_task_spec
from kinds import kind_get
from kinds.stress import StressRefused, stress_plan

from .core_yaml_bounds_helpers import alias_bomb


def spec_problems(tmp_path: Path, text: str) -> list[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "task.yaml").write_text(text, encoding="utf-8")
    return read_task_spec(tmp_path)[1]


@pytest.mark.parametrize("levels", [7, 8, 32])
@pytest.mark.parametrize("key", ["slug", "kind", "leak_probe", "columns", "title"])
def test_an_alias_bomb_is_refused_at_its_first_anchor_within_a_few_megabytes(
    tmp_path: Path, levels: int, key: str
) -> None:
    tracemalloc.start()
    try:
        problems = spec_problems(tmp_path, alias_bomb(levels, key=key))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problems == [
        "task.yaml is not valid YAML at line 1, column 5: anchors (&name) and aliases (*name)"
        " are not accepted here; write each value out"
    ]
    assert peak < 5 * 1024**2


@pytest.mark.parametrize(
    "text",
    ["slug: &s demo\ntitle: Demo\n", "base: &b {x: 1}\nother:\n  <<: *b\n", "- &x 1\n- 2\n"],
)
def test_an_anchor_alone_or_a_merge_through_an_alias_is_refused(text: str) -> None:
    with pytest.raises(boundedyaml.YamlBoundExceeded, match="anchors"):
        boundedyaml.load(text, max_chars=10_000)


def test_a_document_of_more_nodes_than_allowed_is_refused_before_it_is_built() -> None:
    text = "columns: [" + ", ".join(["1"] * 300_000) + "]\n"  # 600 KB: 190 MB and 28 s before
    tracemalloc.start()
    try:
        with pytest.raises(boundedyaml.YamlBoundExceeded, match="more than 20,000 values"):
            boundedyaml.load(text, max_chars=1024**2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024**2
    assert boundedyaml.load("k: [1, 2]\n", max_chars=100, max_nodes=5) == {"k": [1, 2]}
    with pytest.raises(boundedyaml.YamlBoundExceeded, match="more than 4 values"):
        boundedyaml.load("k: [1, 2]\n", max_chars=100, max_nodes=4)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("slug: " + "1" * 5000 + "\n", "a value that cannot be read"),  # over 4,300 digits
        ("slug: 2020-13-45\n", "a value that cannot be read"),  # no 13th month
    ],
)
def test_a_value_python_cannot_build_is_a_yaml_problem_not_an_exception(
    tmp_path: Path, text: str, words: str
) -> None:
    problems = spec_problems(tmp_path, text)
    assert len(problems) == 1 and words in problems[0] and "line 1" in problems[0]
    assert len(problems[0]) < 400


BIG = "x" * 200_000
HOSTILE_VALUES = {
    "slug": BIG,
    "kind": BIG,
    "leak_probe": [BIG] * 50,
    "columns": {BIG: BIG, "a": [BIG]},
    "metric": {"k": BIG},
    "public_fraction": BIG,
    "split_seed": [[BIG]],
    "opis": {"group_column": [BIG], "range": [BIG, 1], "min_group_rows": BIG, BIG: 1},
    "slices": [BIG, BIG],
    "rai": {BIG: "x"},
    BIG: 1,
}


@pytest.mark.parametrize("key", sorted(HOSTILE_VALUES, key=len))
def test_every_problem_quotes_at_most_100_characters_of_a_value(tmp_path: Path, key: str) -> None:
    document = {"slug": "ok", "title": "T", "kind": "classification", key: HOSTILE_VALUES[key]}
    problems = spec_problems(tmp_path, yaml.safe_dump(document, width=10**7))
    assert problems, "the hostile value was accepted"
    for problem in problems:
        assert "x" * (QUOTE_MAX + 1) not in problem, problem[:300]
        assert len(problem) < 1200, problem[:300]


@pytest.mark.parametrize(
    "config", [[{"family": BIG}], [{"family": "typos", "strength": BIG, "share": [BIG]}]]
)
def test_a_stress_plan_quotes_at_most_100_characters_of_a_value(config: object) -> None:
    with pytest.raises(StressRefused) as refused:
        stress_plan(kind_get("classification"), (("title", "text"),), config)
    for problem in refused.value.problems:
        assert "x" * (QUOTE_MAX + 1) not in problem and len(problem) < 1200, problem[:300]


def test_quote_is_bounded_for_every_shape() -> None:
    nested: list[object] = [BIG]
    for _ in range(50):
        nested = [nested] * 10
    for value in (BIG, nested, {BIG: nested}, 10**4000, b"y" * 10**6, (BIG,) * 1000):
        assert len(quote(value)) <= QUOTE_MAX
    assert quote("tittle") == "'tittle'"


def manifest_zip(text: str) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("algorithm.yaml", text)
        archive.writestr("main.py", "print('hi')\n")
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("levels", [7, 8, 32])
def test_an_algorithm_yaml_alias_bomb_is_refused(levels: int) -> None:
    with pytest.raises(ArchiveInvalid) as refused:
        validate_archive(manifest_zip(alias_bomb(levels, key="description")))
    assert refused.value.problems == [
        "algorithm.yaml is refused (line 1): anchors (&name) and aliases (*name) are not"
        " accepted here; write each value out; it is a mapping of plain values (name,"
        " description, entrypoint)"
    ]


def test_an_algorithm_yaml_of_many_nodes_is_refused() -> None:
    text = "name: x\ndescription: [" + ", ".join(["1"] * 2000) + "]\n"
    with pytest.raises(ArchiveInvalid) as refused:
        validate_archive(manifest_zip(text))
    assert "more than 1,000 values" in refused.value.problems[0]
