"""For every demo task, the CSV and Parquet downloads (API, token, streamed) hold the same
table with the declared types."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datasets.core import read_standard_csv, read_standard_parquet
from datasets.services import task_import
from testkit.demo_data import DemoBundle, demo_slugs

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ARROW = {"string": (pa.string(), pa.large_string()), "float64": (pa.float64(),)}


def download(api, url: str, target: Path) -> Path:
    response = api.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.streaming
    with target.open("wb") as out:
        for chunk in response.streaming_content:
            out.write(chunk)
    return target


def declared_dtypes(meta: dict, *, with_label: bool) -> dict[str, str]:
    dtypes = {"id": "string"}
    dtypes |= {
        c["name"]: "float64" if c["type"] == "numeric" else "string" for c in meta["columns"]
    }
    if with_label:
        dtypes["label"] = {"matching": "int64", "regression": "float64"}.get(meta["kind"], "string")
    return dtypes


@pytest.mark.parametrize("demo_bundle", demo_slugs(), indirect=True)
def test_csv_and_parquet_downloads_are_the_same_typed_table(
    demo_bundle: DemoBundle, participant_api, anonymous_api, tmp_path: Path
) -> None:
    task_import(source=demo_bundle.path, challenge_slug="demo", track_slug=demo_bundle.track_slug)
    meta = anonymous_api.get(f"/api/v1/tasks/{demo_bundle.slug}/").json()
    files = meta["files"]

    for part, rows in (("train", meta["train_rows"]), ("test", meta["test_rows"])):
        csv_path = download(participant_api, files[f"{part}.csv"], tmp_path / f"{part}.csv")
        parquet_path = download(
            participant_api, files[f"{part}.parquet"], tmp_path / f"{part}.parquet"
        )
        expected = declared_dtypes(meta, with_label=part == "train")

        from_csv = read_standard_csv(csv_path, meta)
        assert {c: str(t) for c, t in from_csv.dtypes.items()} == expected
        assert len(from_csv) == rows
        schema = pq.read_schema(parquet_path)
        assert schema.names == list(expected)
        for name, dtype in expected.items():
            if dtype == "int64":
                assert schema.field(name).type == pa.int64(), name
            else:
                assert schema.field(name).type in ARROW[dtype], (name, schema.field(name).type)
        from_parquet = read_standard_parquet(parquet_path, meta)
        pd.testing.assert_frame_equal(from_csv, from_parquet)
        assert from_csv["id"].is_unique and from_csv["id"].notna().all()

    if "images.zip" in files:
        archive = download(participant_api, files["images.zip"], tmp_path / "images.zip")
        image_columns = [c["name"] for c in meta["columns"] if c["type"] == "image"]
        train = read_standard_csv(tmp_path / "train.csv", meta)
        with zipfile.ZipFile(archive) as images:
            names = set(images.namelist())
            first = train[image_columns[0]].dropna().iloc[0]
            assert images.read(first)[:8] == b"\x89PNG\r\n\x1a\n"
        referenced = set(pd.concat([train[c] for c in image_columns]).dropna())
        assert referenced <= names


def test_every_demo_task_is_covered() -> None:
    assert len(demo_slugs()) >= 3  # every track is represented below
    from datasets.demo import DEMO_TASKS

    assert {d.track_slug for d in DEMO_TASKS} == {"matching", "classification", "regression"}
