"""Valid bundles of both kinds, as folders and zips, in CSV and Parquet, with and without images."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from datasets.core import (
    BundleInvalid,
    prepare_task,
    read_standard_csv,
    read_standard_parquet,
    validate_bundle,
)
from testkit.bundles import (
    DROP,
    classification_frames,
    image_path,
    matching_frames,
    write_classification_bundle,
    write_matching_bundle,
    zip_bundle,
)

WRITERS = {"classification": write_classification_bundle, "matching": write_matching_bundle}
LAYOUT = {
    "task.json",
    "card.json",
    "train.csv",
    "train.parquet",
    "test.csv",
    "test.parquet",
    "private/solution.parquet",
}


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("images", [False, True], ids=["plain", "images"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("kind", ["classification", "matching"])
def test_valid_bundle_becomes_the_contract_layout(
    tmp_path: Path, kind: str, fmt: str, images: bool
) -> None:
    bundle = WRITERS[kind](tmp_path / "bundle", fmt=fmt, images=images)
    task = prepare_task(bundle, work_dir=tmp_path / "work")

    expected = LAYOUT | ({"images.zip"} if images else set())
    assert _files(task.out_dir) == expected
    assert set(task.files) == expected
    assert json.loads(task.files["task.json"].read_text()) == task.meta
    assert json.loads(task.files["card.json"].read_text()) == task.card
    meta = task.meta
    assert meta["kind"] == kind
    assert meta["slug"] == f"demo-{kind}"
    assert (meta["train_rows"], meta["test_rows"]) == (60, 30)
    assert meta["public_fraction"] == 0.3
    assert meta["split_seed"] == 0
    assert task.warnings == ()
    if kind == "classification":
        assert meta["classes"] == ["bird", "cat", "dog"]
        assert meta["primary_metric"] == "accuracy"
        assert meta["columns"][:3] == [
            {"name": "title", "type": "text"},
            {"name": "price", "type": "numeric"},
            {"name": "color", "type": "categorical"},
        ]
    else:
        assert meta["classes"] == ["0", "1"]
        assert meta["primary_metric"] == "f1"
        types = {c["name"]: c["type"] for c in meta["columns"]}
        assert types["left_price"] == types["right_price"] == "numeric"
        assert types["left_brand"] == types["right_brand"] == "categorical"
    assert any(c["type"] == "image" for c in meta["columns"]) is images


@pytest.mark.parametrize("kind", ["classification", "matching"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_outputs_load_equal(tmp_path: Path, kind: str, fmt: str) -> None:
    task = prepare_task(
        WRITERS[kind](tmp_path / "bundle", fmt=fmt, images=True), work_dir=tmp_path / "w"
    )
    for part in ("train", "test"):
        from_csv = read_standard_csv(task.files[f"{part}.csv"], task.meta)
        from_parquet = pd.read_parquet(task.files[f"{part}.parquet"])
        pd.testing.assert_frame_equal(from_csv, from_parquet)
        pd.testing.assert_frame_equal(
            from_csv, read_standard_parquet(task.files[f"{part}.parquet"], task.meta)
        )
        features = [c["name"] for c in task.meta["columns"]]
        label = ["label"] if part == "train" else []
        assert list(from_csv.columns) == ["id", *features, *label]
        assert from_csv["id"].dtype == "string"
    train = pd.read_parquet(task.files["train.parquet"])
    assert train["label"].dtype == ("int64" if kind == "matching" else "string")
    numeric = [c["name"] for c in task.meta["columns"] if c["type"] == "numeric"]
    assert numeric
    assert all(train[c].dtype == "float64" for c in numeric)
    others = [c["name"] for c in task.meta["columns"] if c["type"] != "numeric"]
    assert all(train[c].dtype == "string" for c in others)


def test_awkward_values_round_trip_equal(tmp_path: Path) -> None:
    """Missing values, quotes, newlines, commas, look-alike numbers and NA-like text survive."""
    awkward = ['say "hi", then\nleave', "007", "  padded ", "x,y", "ünïcode ✓", None]

    def bend(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[: len(awkward) - 1, "title"] = awkward
        df["price"] = df["price"].astype("float64")
        df.loc[1, "price"] = 1e-300
        df.loc[2, "price"] = 1 / 3
        return df

    bundle = write_classification_bundle(tmp_path / "b", fmt="parquet", train=bend)
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    from_csv = read_standard_csv(task.files["train.csv"], task.meta)
    pd.testing.assert_frame_equal(from_csv, pd.read_parquet(task.files["train.parquet"]))
    assert from_csv["title"].head(6).tolist()[:5] == awkward[:5]
    assert from_csv["title"].isna()[5]
    assert from_csv.loc[2, "price"] == 1 / 3


def test_test_columns_follow_train_order(tmp_path: Path) -> None:
    bundle = write_classification_bundle(tmp_path / "b", test=lambda df: df[df.columns[::-1]])
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    test = pd.read_parquet(task.files["test.parquet"])
    assert list(test.columns) == ["id", "title", "price", "color"]


@pytest.mark.parametrize("prefix", ["", "my-task/"], ids=["flat", "top-folder"])
@pytest.mark.parametrize("kind", ["classification", "matching"])
def test_zipped_bundle_gives_the_same_task_as_the_folder(
    tmp_path: Path, kind: str, prefix: str
) -> None:
    folder = WRITERS[kind](tmp_path / "bundle", fmt="parquet", images=True)
    archive = zip_bundle(folder, tmp_path / "bundle.zip", prefix=prefix)
    from_folder = prepare_task(folder, work_dir=tmp_path / "a")
    from_zip = prepare_task(archive, work_dir=tmp_path / "b")
    assert from_zip.meta == from_folder.meta
    assert from_zip.card == from_folder.card
    for name in from_folder.files:
        assert from_zip.files[name].read_bytes() == from_folder.files[name].read_bytes(), name


def test_images_zip_holds_only_referenced_images_sorted(tmp_path: Path) -> None:
    task = prepare_task(
        write_classification_bundle(tmp_path / "b", images=True), work_dir=tmp_path / "w"
    )
    with zipfile.ZipFile(task.files["images.zip"]) as archive:
        names = archive.namelist()
    assert names == sorted({image_path(i) for i in range(6)})
    assert "unused.png" not in names
    again = prepare_task(
        write_classification_bundle(tmp_path / "b2", images=True), work_dir=tmp_path / "w2"
    )
    assert again.files["images.zip"].read_bytes() == task.files["images.zip"].read_bytes()


def test_image_paths_are_normalized_in_the_files_and_the_zip(tmp_path: Path) -> None:
    def dotted(df: pd.DataFrame) -> pd.DataFrame:
        df["photo"] = "./" + df["photo"].str.replace("/", "//")
        return df

    bundle = write_classification_bundle(
        tmp_path / "b", images=True, train=dotted, task={"columns": {"photo": "image"}}
    )
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    train = pd.read_parquet(task.files["train.parquet"])
    assert train["photo"].iloc[0] == "photos/p0.png"
    with zipfile.ZipFile(task.files["images.zip"]) as archive:
        assert "photos/p0.png" in archive.namelist()


def test_solution_is_private_sorted_as_test_with_split(tmp_path: Path) -> None:
    def shuffled(df: pd.DataFrame) -> pd.DataFrame:
        return df.sample(frac=1, random_state=1)

    bundle = write_classification_bundle(tmp_path / "b", solution=shuffled)
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    solution = pd.read_parquet(task.files["private/solution.parquet"])
    test = pd.read_parquet(task.files["test.parquet"])
    assert list(solution.columns) == ["id", "label", "split"]
    assert solution["id"].tolist() == test["id"].tolist()
    assert solution["id"].dtype == solution["label"].dtype == "string"
    truth = classification_frames()["solution"].set_index("id")["label"]
    assert solution.set_index("id")["label"].tolist() == truth.loc[test["id"]].tolist()
    assert set(solution["split"]) == {"public", "private"}


def test_matching_solution_labels_are_int64(tmp_path: Path) -> None:
    task = prepare_task(write_matching_bundle(tmp_path / "b"), work_dir=tmp_path / "w")
    solution = pd.read_parquet(task.files["private/solution.parquet"])
    assert solution["label"].dtype == "int64"
    expected = matching_frames()["solution"]["label"].tolist()
    assert solution["label"].tolist() == expected


def test_declared_types_override_inference_and_options_are_kept(tmp_path: Path) -> None:
    bundle = write_classification_bundle(
        tmp_path / "b",
        task={
            "columns": {"price": "categorical", "title": "text"},
            "metric": "macro_f1",
            "public_fraction": 0.5,
            "split_seed": 7,
            "description": DROP,
        },
    )
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    types = {c["name"]: c["type"] for c in task.meta["columns"]}
    assert types["price"] == "categorical"
    assert task.meta["primary_metric"] == "macro_f1"
    assert (task.meta["public_fraction"], task.meta["split_seed"]) == (0.5, 7)
    assert task.meta["description"] == ""
    train = read_standard_csv(task.files["train.csv"], task.meta)
    assert train["price"].dtype == "string"
    assert train["price"].iloc[1] == "1.75"


def test_numeric_labels_become_class_name_strings(tmp_path: Path) -> None:
    def numbered(df: pd.DataFrame) -> pd.DataFrame:
        df["label"] = df["label"].map({"bird": 1, "cat": 2, "dog": 10})
        return df

    bundle = write_classification_bundle(
        tmp_path / "b", fmt="parquet", train=numbered, solution=numbered
    )
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    assert task.meta["classes"] == ["1", "10", "2"]
    solution = pd.read_parquet(task.files["private/solution.parquet"])
    assert set(solution["label"]) == {"1", "2", "10"}


def test_integer_ids_in_parquet_become_strings_and_still_match(tmp_path: Path) -> None:
    def int_ids(df: pd.DataFrame) -> pd.DataFrame:
        df["id"] = range(100, 100 + len(df))
        return df

    bundle = write_classification_bundle(
        tmp_path / "b", fmt="parquet", test=int_ids, solution=int_ids
    )
    task = prepare_task(bundle, work_dir=tmp_path / "w")
    test = read_standard_csv(task.files["test.csv"], task.meta)
    assert test["id"].iloc[0] == "100"


def test_unseen_solution_class_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    def rare(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[0, "label"] = "fox"
        return df

    task = prepare_task(
        write_classification_bundle(tmp_path / "b", solution=rare), work_dir=tmp_path / "w"
    )
    assert task.meta["classes"] == ["bird", "cat", "dog", "fox"]
    assert any("never appear in train" in w and "fox" in w for w in task.warnings)


def test_macos_zip_clutter_is_ignored(tmp_path: Path) -> None:
    folder = write_classification_bundle(tmp_path / "b")
    archive = zip_bundle(folder, tmp_path / "b.zip")
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("__MACOSX/._task.yaml", b"junk")
        z.writestr(".DS_Store", b"junk")
    task = prepare_task(archive, work_dir=tmp_path / "w")
    assert task.meta["slug"] == "demo-classification"
    assert not (tmp_path / "w" / "bundle" / "__MACOSX").exists()


def test_standard_readers_accept_open_binary_files(tmp_path: Path) -> None:
    """Django storage hands out file objects, not paths."""
    task = prepare_task(write_matching_bundle(tmp_path / "b"), work_dir=tmp_path / "w")
    with task.files["test.csv"].open("rb") as csv_file:
        from_csv = read_standard_csv(csv_file, task.meta)
    with task.files["test.parquet"].open("rb") as parquet_file:
        from_parquet = read_standard_parquet(parquet_file, task.meta)
    pd.testing.assert_frame_equal(from_csv, from_parquet)


@pytest.mark.parametrize(
    "make_id, expected",
    [
        (lambda i: f"t{i}", ("counted", b"t", 0)),  # no padding: the most common shape
        (lambda i: f"t{i:05d}", ("numbered", b"t", 0)),
        (lambda i: str(i + 3), ("counted", b"", 3)),
        (lambda i: f"x{(7 * i) % 31}", ("spread", b"x", 0)),  # integers in another order
        (lambda i: f"x{5000 * i}", (None, None, None)),  # integers too far apart
        (lambda i: f"id-{'abcdefg'[i % 7]}{i}", (None, None, None)),
    ],
    ids=["counted", "numbered", "plain-integers", "shuffled-integers", "sparse-integers", "free"],
)
def test_the_solution_records_the_test_ids_shape_once(tmp_path: Path, make_id, expected) -> None:
    """The import proves the ids' shape and stores it with the solution; scoring reads it
    from there (and uses it only while it fits the ids)."""
    from common.numbered import Counted, Numbered, Spread
    from scoring.core import load_solution

    def with_ids(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(id=[make_id(i) for i in range(len(df))])

    folder = write_classification_bundle(tmp_path / "b", rows=62, test=with_ids, solution=with_ids)
    task = prepare_task(folder, work_dir=tmp_path / "w")
    solution = load_solution(
        task.files["private/solution.parquet"], kind="classification", classes=task.meta["classes"]
    )
    assert solution.id_shape_known
    kind, prefix, low = expected
    shape = solution.id_shape
    if kind is None:
        assert shape is None
    else:
        assert isinstance(shape, {"numbered": Numbered, "counted": Counted, "spread": Spread}[kind])
        assert (shape.prefix, shape.low) == (prefix, low)


@pytest.mark.parametrize("reverse", [False, True])
def test_ids_longer_than_the_keyed_width_are_paired_exactly(tmp_path: Path, reverse) -> None:
    """Ids over ``idset.MAX_BYTES`` (64) are proven and paired by Arrow's exact kernels:
    the bundle is imported (it stopped on an assertion), in test's order whatever the
    solution's; one id missing from the solution is still named."""

    def long_ids(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(id=["x" * 70 + str(i) for i in range(len(df))])

    def shuffled(df: pd.DataFrame) -> pd.DataFrame:
        df = long_ids(df)
        return df.iloc[::-1] if reverse else df

    folder = write_classification_bundle(tmp_path / "b", test=long_ids, solution=shuffled)
    bundle = validate_bundle(folder)
    assert bundle.solution["id"].to_pylist() == bundle.test_ids.to_pylist()
    expected = pd.read_csv(folder / "solution.csv").set_index("id")["label"]
    assert bundle.solution["label"].to_pylist() == [
        expected[i] for i in bundle.test_ids.to_pylist()
    ]

    def one_missing(df: pd.DataFrame) -> pd.DataFrame:
        return shuffled(df).iloc[1:] if not reverse else shuffled(df).iloc[:-1]

    broken = write_classification_bundle(tmp_path / "c", test=long_ids, solution=one_missing)
    with pytest.raises(BundleInvalid) as refused:
        validate_bundle(broken)
    assert any("missing from solution.csv" in p for p in refused.value.problems)
