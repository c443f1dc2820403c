"""Stress families (docs/organizers/stress.md): every family of every kind is deterministic for a
seed, keeps each copy's label (its original's), changes what it says it changes, and is refused
with a clear message on columns it cannot apply to; a stress test set holds no original id,
its ids have the clean ids' shape and it is never larger than the clean set."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from unidecode import unidecode

from common.freshids import fresh_ids
from kinds import kind_get
from kinds.stress import (
    PlannedFamily,
    StressContext,
    StressRefused,
    plan_fingerprint,
    stress_plan,
    stress_test_set,
)

N = 400
TITLES = [
    "Müller Kaffeemaschine Größe drei",
    "Café Crème Brûlée Set",
    "Škoda Octavia Zubehör Paket",
    "Samsung Galaxy Phone Black",
    "International Business Machines Laptop",
    "Sony Wireless Headphones Silver",
]


def _titles(rng: np.random.Generator, n: int) -> list[str]:
    return [TITLES[i] for i in rng.integers(0, len(TITLES), size=n)]


def matching_case(n: int = N, seed: int = 0):
    rng = np.random.default_rng(seed)
    left = _titles(rng, n)
    same = rng.random(n) < 0.4
    right = [a if s else b for a, s, b in zip(left, same, _titles(rng, n), strict=True)]
    brands = np.array(["acme", "globex", "initech"])
    table = pa.table(
        {
            "id": [f"p{i:05d}" for i in range(n)],
            "left_title": left,
            "right_title": right,
            "left_brand": brands[rng.integers(0, 3, n)],
            "right_brand": brands[rng.integers(0, 3, n)],
            "left_price": rng.random(n) * 100,
            "right_price": rng.random(n) * 100,
        }
    )
    columns = (
        ("left_title", "text"),
        ("right_title", "text"),
        ("left_brand", "categorical"),
        ("right_brand", "categorical"),
        ("left_price", "numeric"),
        ("right_price", "numeric"),
    )
    labels = pa.array(np.array([t == r for t, r in zip(left, right, strict=True)], dtype=np.int64))
    return "matching", table, columns, labels


def grouping_case(n: int = N, seed: int = 0):
    rng = np.random.default_rng(seed)
    entity = rng.integers(0, n // 4, size=n)
    table = pa.table(
        {
            "id": [str(1000 + i) for i in range(n)],
            "name": [f"{TITLES[e % len(TITLES)]} {e}" for e in entity],
            "city": np.array(["Köln", "Paris", "Zürich"])[entity % 3],
            "year": (entity % 50).astype(np.float64),
        }
    )
    columns = (("name", "text"), ("city", "categorical"), ("year", "numeric"))
    return "grouping", table, columns, pa.array([f"e{e}" for e in entity])


def tabular_case(kind: str, n: int = N, seed: int = 0):
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "id": [f"row-{i}" for i in range(n)],
            "review": _titles(rng, n),
            "photo": [f"img/{i % 7}.png" for i in range(n)],
            "price": rng.random(n) * 10,
            "weight": rng.random(n),
            "colour": np.array(["red", "green", "blue"])[rng.integers(0, 3, n)],
        }
    )
    columns = (
        ("review", "text"),
        ("photo", "image"),
        ("price", "numeric"),
        ("weight", "numeric"),
        ("colour", "categorical"),
    )
    if kind == "regression":
        labels = pa.array(rng.normal(size=n))
    else:
        labels = pa.array(np.array(["a", "b", "c"])[rng.integers(0, 3, n)])
    return kind, table, columns, labels


CASES = {
    "classification": lambda: tabular_case("classification"),
    "regression": lambda: tabular_case("regression"),
    "matching": matching_case,
    "grouping": grouping_case,
}
FAMILIES = [(kind, family) for kind in CASES for family in kind_get(kind).stress_families()]


def build(kind_name, table, columns, labels, plan, seed=7, **kw):
    kind = kind_get(kind_name)
    is_public = np.arange(table.num_rows) % 3 == 0
    return kind.name, stress_test_set(
        kind=kind,
        test=table,
        labels=labels,
        is_public=is_public,
        train=table.drop(["id"]),
        columns=columns,
        plan=plan,
        seed=seed,
        **kw,
    )


def one(kind_name: str, family: str, strength: float | None = None) -> list[PlannedFamily]:
    default = kind_get(kind_name).stress_families()[family].strength
    return [PlannedFamily(family, default if strength is None else strength, 1.0)]


@pytest.mark.parametrize(("kind_name", "family"), FAMILIES)
def test_each_family_is_deterministic_and_keeps_every_label(kind_name, family):
    _, table, columns, labels = CASES[kind_name]()
    plan = one(kind_name, family)
    _, first = build(kind_name, table, columns, labels, plan)
    _, again = build(kind_name, table, columns, labels, plan)
    _, other = build(kind_name, table, columns, labels, plan, seed=8)
    assert first.test.equals(again.test) and first.solution.equals(again.solution)
    assert not first.test.equals(other.test)  # the seed matters
    assert first.test.num_rows > 0 and first.families == (family,)
    # Label-preserving: each copy's truth is its original's label and split.
    assert first.solution["label"].to_pylist() == labels.take(pa.array(first.origin)).to_pylist()
    public = np.where(np.arange(table.num_rows) % 3 == 0, "public", "private")
    assert first.solution["split"].to_pylist() == public[first.origin].tolist()
    # No original: not one clean id; the set is never larger than the clean one.
    assert not pc.any(pc.is_in(first.test["id"], value_set=table["id"])).as_py()
    assert len(set(first.test["id"].to_pylist())) == first.test.num_rows
    assert first.test.num_rows <= table.num_rows
    assert first.test.column_names[: table.num_columns] == table.column_names


@pytest.mark.parametrize(("kind_name", "family"), FAMILIES)
def test_each_family_changes_the_rows_it_copies(kind_name, family):
    _, table, columns, labels = CASES[kind_name]()
    _, stress = build(kind_name, table, columns, labels, one(kind_name, family))
    features = [name for name, _ in columns]
    copies = stress.test.select(features).to_pylist()
    originals = table.select(features).take(pa.array(stress.origin)).to_pylist()
    changed = np.mean([c != o for c, o in zip(copies, originals, strict=True)])
    if family == "duplicate_rate":  # copies as they were: the make-up of the set moves
        assert changed == 0
        return
    if family == "noise_columns":
        assert stress.added and all(
            v is not None for v in stress.test[stress.added[0][0]].to_pylist()
        )
        return
    assert changed > 0.6, f"{family} changed only {changed:.0%} of its copies"


def test_matching_text_families_edit_one_record_of_the_pair():
    kind_name, table, columns, labels = matching_case()
    for family in ("typos", "token_drop", "case_punct", "transliteration"):
        _, stress = build(kind_name, table, columns, labels, one(kind_name, family))
        left = stress.test["left_title"].to_pylist()
        right = stress.test["right_title"].to_pylist()
        left0 = table["left_title"].take(pa.array(stress.origin)).to_pylist()
        right0 = table["right_title"].take(pa.array(stress.origin)).to_pylist()
        both = [
            a != a0 and b != b0 for a, a0, b, b0 in zip(left, left0, right, right0, strict=True)
        ]
        assert not any(both), family


def test_transliteration_writes_one_record_in_ascii_and_swap_values_trades_the_records():
    kind_name, table, columns, labels = matching_case()
    _, stress = build(kind_name, table, columns, labels, one(kind_name, "transliteration"))
    originals = table.take(pa.array(stress.origin))
    rows = zip(
        stress.test["left_title"].to_pylist(),
        stress.test["right_title"].to_pylist(),
        originals["left_title"].to_pylist(),
        originals["right_title"].to_pylist(),
        strict=True,
    )
    for left, right, left0, right0 in rows:
        one_side = (left == unidecode(left0) and right == right0) or (
            right == unidecode(right0) and left == left0
        )
        assert one_side and (left, right) != (left0, right0), (left, right, left0, right0)
    _, swapped = build(kind_name, table, columns, labels, one(kind_name, "swap_values"))
    originals = table.take(pa.array(swapped.origin))
    assert swapped.test["left_title"].equals(originals["right_title"])
    assert swapped.test["right_brand"].equals(originals["left_brand"])


def test_the_duplicate_rate_moves_the_share_of_matches_both_ways():
    kind_name, table, columns, labels = matching_case(n=2000)
    base = float(np.mean(labels.to_numpy()))
    for strength, more in ((0.5, True), (-0.5, False)):
        plan = [PlannedFamily("duplicate_rate", strength, 0.5)]
        _, stress = build(kind_name, table, columns, labels, plan)
        share = float(np.mean(np.asarray(stress.solution["label"].to_numpy())))
        expected = base + 0.5 * (1 - base) if more else base * 0.5
        assert share == pytest.approx(expected, abs=0.02)


def test_grouping_copies_whole_entities_and_the_duplicate_rate_adds_records():
    kind_name, table, columns, labels = grouping_case()
    plan = stress_plan(kind_get(kind_name), columns, None)
    _, stress = build(kind_name, table, columns, labels, plan)
    family_of_entity: dict[str, set[int]] = {}
    for entity, family in zip(stress.solution["label"].to_pylist(), stress.family, strict=True):
        family_of_entity.setdefault(entity, set()).add(int(family))
    assert all(len(f) == 1 for f in family_of_entity.values())  # one family per entity
    sizes = {
        e: n
        for e, n in zip(
            *np.unique(labels.to_numpy(zero_copy_only=False), return_counts=True), strict=True
        )
    }
    dup = stress.families.index("duplicate_rate")
    copied = [e for e, f in family_of_entity.items() if f == {dup}]
    counts = {e: int(np.sum(np.array(stress.solution["label"].to_pylist()) == e)) for e in copied}
    assert sum(counts.values()) > sum(sizes[e] for e in copied)  # more records per entity


def test_the_default_plan_is_every_family_that_applies_with_shares_that_fill_the_set():
    _, table, columns, labels = tabular_case("classification")
    plan = stress_plan(kind_get("classification"), columns, None)
    assert [p.family for p in plan] == [
        "typos",
        "missing_modality",
        "numeric_noise",
        "unseen_levels",
        "shuffle_columns",
    ]
    assert sum(p.share for p in plan) == pytest.approx(1.0)
    _, stress = build("classification", table, columns, labels, plan)
    assert stress.test.num_rows == table.num_rows - table.num_rows % len(plan)
    only_numbers = (("price", "numeric"),)
    assert [p.family for p in stress_plan(kind_get("classification"), only_numbers, None)] == [
        "numeric_noise"
    ]
    assert stress_plan(kind_get("classification"), columns, []) == []  # off
    _, capped = build("classification", table, columns, labels, plan, max_rows=100)
    assert capped.test.num_rows == 100


def test_a_plan_is_refused_with_a_clear_message_for_each_problem():
    columns = (("price", "numeric"),)
    with pytest.raises(StressRefused) as refused:
        stress_plan(
            kind_get("classification"),
            columns,
            [
                {"family": "typo"},
                {"family": "unseen_levels", "strength": 3},
                {"family": "numeric_noise", "share": 0.9},
                {"family": "numeric_noise"},
                {"family": "shuffle_columns", "share": 0.5, "power": 1},
            ],
        )
    problems = refused.value.problems
    assert (
        "stress[0]: unknown family 'typo' for classification tasks (did you mean 'typos'?)"
        in problems[0]
    )
    assert (
        problems[1]
        == "stress[1]: 'unseen_levels' cannot apply to this task: it has no categorical column"
    )
    assert problems[2].startswith(
        "stress[1]: the strength of 'unseen_levels' must be a number in (0, 1]"
    )
    assert "stress[3]: the family 'numeric_noise' is named twice" in problems
    assert any("unknown key 'power'" in p for p in problems)
    assert any(
        p.startswith(
            "stress[4]: 'shuffle_columns' cannot apply to this task: no two of its columns"
        )
        for p in problems
    )
    assert problems[-1].startswith("stress: the shares add up to 1.4")
    matching_one = (("left_title", "text"), ("right_title", "text"))
    with pytest.raises(
        StressRefused, match="'drop_attribute' cannot apply to this task: it has one"
    ):
        stress_plan(kind_get("matching"), matching_one, ["drop_attribute"])
    with pytest.raises(StressRefused, match="'typos' cannot apply to this task: it has no text"):
        stress_plan(
            kind_get("matching"), (("left_n", "numeric"), ("right_n", "numeric")), ["typos"]
        )
    with pytest.raises(StressRefused, match="must be a list"):
        stress_plan(kind_get("matching"), matching_one, {"typos": 1})


def test_a_family_with_nothing_to_change_is_skipped_with_its_reason():
    kind_name, table, columns, labels = matching_case()
    ascii_only = table.set_column(
        1, "left_title", pc.utf8_upper(table["left_title"]).cast(pa.string())
    )
    for side in ("left_title", "right_title"):
        plain = [t.encode("ascii", "ignore").decode() for t in table[side].to_pylist()]
        ascii_only = ascii_only.set_column(
            ascii_only.schema.get_field_index(side), side, pa.array(plain)
        )
    _, stress = build(kind_name, ascii_only, columns, labels, one(kind_name, "transliteration"))
    assert stress.test.num_rows == 0
    assert stress.skipped == {"transliteration": "no pair has text outside ASCII to transliterate"}


def test_the_fingerprint_names_the_plan():
    a = [PlannedFamily("typos", 0.5, 0.5)]
    assert plan_fingerprint(a) == plan_fingerprint(list(a))
    assert plan_fingerprint(a) != plan_fingerprint([PlannedFamily("typos", 0.6, 0.5)])


# --- fresh ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "pattern"),
    [
        ([f"t{i:06d}" for i in range(500)], r"t\d{6}"),
        ([str(i) for i in range(1, 500)], r"[1-9]\d*"),
        ([f"row-{i}" for i in range(500)], r"row-[1-9]\d*|row-0"),
        (["3f2a9c1e-" + f"{i:04x}" for i in range(500)], r"\d[0-9a-f]{3}[0-9a-f]{4}-[0-9a-f]{4}"),
        (["abc", "def", "ghi"], r"[a-z]{3}"),
    ],
)
def test_fresh_ids_keep_the_shape_and_name_no_existing_row(ids, pattern):
    template = pa.array(ids)
    fresh = fresh_ids(template, avoid=[template], rng=np.random.default_rng(0)).to_pylist()
    assert len(set(fresh)) == len(fresh) == len(ids)
    assert not set(fresh) & set(ids)
    if pattern.startswith(r"\d[0-9a-f]"):  # uuid-like: digits redrawn, letters kept
        assert all(len(f) == len(i) and f[8] == "-" for f, i in zip(fresh, ids, strict=True))
    else:
        assert all(re.fullmatch(pattern, f) for f in fresh), fresh[:5]


def test_fresh_ids_widen_only_when_the_shape_is_full():
    taken = pa.array([str(i) for i in range(10, 100)])  # every two-digit integer
    fresh = fresh_ids(pa.array(["42", "17"]), avoid=[taken], rng=np.random.default_rng(1))
    assert all(re.fullmatch(r"[1-9]\d\d", f) for f in fresh.to_pylist())


# --- a family by itself ----------------------------------------------------------------------


def test_families_are_pure_functions_of_their_rows():
    kind_name, table, columns, labels = matching_case(n=20)
    family = kind_get(kind_name).stress_families()["typos"]
    rows = table.drop(["id"])
    context = StressContext(columns=columns, train=rows, labels=labels)
    a = family.perturb(rows, strength=0.5, rng=np.random.default_rng(3), context=context)
    b = family.perturb(rows, strength=0.5, rng=np.random.default_rng(3), context=context)
    assert a.rows.equals(b.rows)
    assert table.drop(["id"]).equals(rows)  # the input is not changed
