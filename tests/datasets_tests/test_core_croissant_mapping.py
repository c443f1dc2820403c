"""How a Croissant dataset's record sets and card map to a task bundle, pinned on the
mapping core (no Django, no files read): each field's column, role and stored type, every
problem's wording, and task.yaml's keys in the order they are written."""

from __future__ import annotations

from typing import Any

import pytest

from datasets.core.croissant_bundle import CroissantUnmappable, _Plan, _plan, _task_yaml, task_title
from datasets.core.croissant_write import FieldPlan
from datasets.core.spec import TITLE_MAX


def field(part: str, name: Any, data_type: Any, **extra: Any) -> dict[str, Any]:
    return {"@id": f"{part}/{name}", "name": name, "dataType": data_type, **extra}


def rich(part: str) -> dict[str, Any]:
    """A record set with every kind of field a foreign tool may write, good and bad."""
    return {
        "@id": part,
        "name": part,
        "key": {"@id": f"{part}/fruit_id"},
        "field": [
            field(part, "fruit_id", "sc:Text"),
            field(part, "weight", "sc:Float"),
            field(part, "count", "sc:Integer"),
            field(part, "organic", "sc:Boolean"),
            field(part, "notes", "sc:Text"),
            field(part, "picked", "sc:Date"),
            field(part, "photo_path", ["sc:Text", "sc:ImageObject"]),
            field(part, "photo", "sc:ImageObject"),
            field(part, "grade", "sc:Float", **{"tc:role": "categorical"}),
            {"@id": f"{part}/nameless", "dataType": "https://schema.org/Float"},
            {"@id": f"{part}/tagged", "name": {"en": "tagged"}, "dataType": "sc:Text"},
            field(part, "box", "cr:BoundingBox"),
            field(part, "nested", "sc:Text", subField=[{"@id": "x"}]),
            field(part, "untyped", None),
            field(part, "quality", ["sc:Text", "cr:Label"]),
            field(part, "label", "sc:Text"),
            field(part, "id", "sc:Text"),
            "not a field",
        ],
    }


def test_each_field_of_a_rich_record_set_gets_its_column_role_and_type_or_a_problem():
    plan = _plan({"train": rich("train"), "test": rich("test")})
    for part in ("train", "test"):
        assert getattr(plan, part) == [
            FieldPlan(f"{part}/fruit_id", "id", "id"),
            FieldPlan(f"{part}/weight", "weight", "numeric", dtype="float64"),
            FieldPlan(f"{part}/count", "count", "numeric", dtype="float64"),
            FieldPlan(f"{part}/organic", "organic", "categorical"),
            FieldPlan(f"{part}/notes", "notes", ""),
            FieldPlan(f"{part}/picked", "picked", ""),
            FieldPlan(f"{part}/photo_path", "photo_path", "image"),
            FieldPlan(f"{part}/photo", "photo", "image", image_content=True),
            FieldPlan(f"{part}/grade", "grade", "categorical"),
            FieldPlan(f"{part}/nameless", "nameless", "numeric", dtype="float64"),
            FieldPlan(f"{part}/tagged", "tagged", ""),
            FieldPlan(f"{part}/quality", "label", "label"),
        ]
    no_type = "which maps to no column type (text, numeric, categorical, image)"
    assert plan.problems == [
        problem
        for part in ("train", "test")
        for problem in (
            f"field 'box' of record set '{part}' has the data type cr:BoundingBox, {no_type}",
            f"field 'nested' of record set '{part}' holds nested or repeated values: a column"
            " holds one value",
            f"field 'untyped' of record set '{part}' has the data type none, {no_type}",
            f"field '{part}/label' of record set '{part}' is named 'label' but is not the record"
            " set's cr:Label field",
            f"field '{part}/id' of record set '{part}' is named 'id' but is not the record set's"
            " key",
        )
    ]


def test_without_a_key_or_a_label_type_the_fields_named_id_and_label_are_used():
    def plain(part: str, label_type: Any) -> dict[str, Any]:
        return {
            "@id": part,
            "field": [
                field(part, "id", "sc:Text"),
                field(part, "x", "sc:Float"),
                field(part, "label", label_type),
            ],
        }

    plan = _plan({"train": plain("train", "sc:Integer"), "test": plain("test", "sc:Float")})
    assert plan.problems == []
    assert plan.train[2] == FieldPlan("train/label", "label", "label", dtype="int64")
    assert plan.test[2] == FieldPlan("test/label", "label", "label", dtype="float64")
    assert plan.train[0] == FieldPlan("train/id", "id", "id")


def test_two_labels_a_missing_label_and_a_missing_record_set_are_problems():
    two = {
        "@id": "test",
        "key": ["a", "b"],
        "field": [
            field("test", "label", "cr:Label"),
            field("test", "other", ["sc:Text", "cr:Label"]),
        ],
    }
    train = {"field": [field("train", "id", "sc:Text"), field("train", "label", "sc:Boolean")]}
    plan = _plan({"train": train, "test": two})
    assert plan.problems == ["record set 'test' has 2 label fields (label, other); a task has one"]
    assert plan.test == [
        FieldPlan("test/label", "label", "label"),
        FieldPlan("test/other", "other", ""),
    ]
    assert plan.train[1] == FieldPlan("train/label", "label", "label")

    unlabelled = _plan({"train": {"field": [field("train", "x", "sc:Float")]}, "test": {}})
    assert unlabelled.problems == [
        "record set 'train' has no label: type one field cr:Label (or name it 'label')"
    ]
    assert _plan({"test": {}}).problems == [
        "the Croissant dataset needs record sets named 'train' and 'test' (missing: train)"
    ]


TRAIN = [
    FieldPlan("t/id", "id", "id"),
    FieldPlan("t/w", "w", "numeric"),
    FieldPlan("t/n", "n", ""),
    FieldPlan("t/c", "c", "categorical"),
    FieldPlan("t/l", "label", "label"),
]


def test_the_card_and_the_platform_s_terms_go_to_task_yaml_in_this_order():
    doc = {
        "name": {"en": "  Fruit quality  "},
        "description": "Is it good?",
        "tc:slug": "fruit-q",
        "tc:primaryMetric": "balanced_accuracy",
        "tc:publicFraction": 0.4,
        "tc:splitSeed": 7,
        "tc:kindOptions": {"positive_class": "good", "title": "not this"},
        "license": [{"url": "https://x/cc0", "name": "CC0"}, "MIT"],
        "citeAs": "@misc{f}",
        "rai:dataBiases": "Summer only.",
        "rai:dataLimitations": "",
        "rai:dataUseCases": 5,
        "rai:unknown": "x",
    }
    spec = _task_yaml(doc, slug=None, kind="classification", plan=_Plan(train=TRAIN))
    assert list(spec.items()) == [
        ("slug", "fruit-q"),
        ("title", "Fruit quality"),
        ("kind", "classification"),
        ("description", "Is it good?"),
        ("columns", {"w": "numeric", "c": "categorical"}),
        ("metric", "balanced_accuracy"),
        ("public_fraction", 0.4),
        ("split_seed", 7),
        ("positive_class", "good"),
        ("license", "https://x/cc0"),
        ("citation", "@misc{f}"),
        ("rai", {"data_biases": "Summer only."}),
    ]


def test_a_sparse_card_gets_a_slug_from_its_title_and_drops_what_is_not_text():
    def spec(doc: dict[str, Any], slug: str | None = None) -> list[tuple[str, Any]]:
        return list(_task_yaml(doc, slug=slug, kind="k", plan=_Plan()).items())

    base = [("kind", "k"), ("description", "")]
    sparse = {
        "name": "Ünïcode -- Title!!",
        "tc:slug": "Bad Slug",
        "license": {"name": "MIT"},
        "tc:primaryMetric": "",
        "citeAs": 3,
        "tc:kindOptions": ["x"],
    }
    assert spec(sparse) == [
        ("slug", "n-code-title"),
        ("title", "Ünïcode -- Title!!"),
        *base,
        ("license", "MIT"),
    ]
    assert spec({"license": [], "tc:splitSeed": None, "name": "!!!"}) == [
        ("slug", "imported-dataset"),
        ("title", "!!!"),
        *base,
        ("split_seed", None),
    ]
    assert spec({"license": {}, "name": "x" * 300}, slug="given") == [
        ("slug", "given"),
        ("title", "x" * 200),
        *base,
    ]
    assert spec({}) == [("slug", "imported-dataset"), ("title", "Imported dataset"), *base]


def test_a_title_another_task_of_the_track_has_is_made_distinct_or_refused():
    track = {"Fruit quality": "fruit", "Other": "other"}
    assert task_title("Fruit", slug="f2", track_titles=track) == ("Fruit", ())
    title, (warning,) = task_title("fruit  QUALITY", slug="fruit-2", track_titles=track)
    assert title == "fruit  QUALITY (fruit-2)"
    assert warning.startswith("the dataset's name 'fruit  QUALITY' is already task 'fruit''s")
    long = "x" * TITLE_MAX
    title, _ = task_title(long, slug="s", track_titles={long: "first"})
    assert len(title) == TITLE_MAX and title.endswith("x (s)")
    with pytest.raises(CroissantUnmappable, match="already task 'other''s in this track"):
        task_title("other", slug="o2", given=True, track_titles=track)
