"""``GET /api/v1/tasks/<slug>/versions/`` for anyone: each data version's date, reason, rows,
what changed (rows added, removed, relabelled) and its Croissant description, whose files
are that version's (``?version=N``), never its solution."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlcroissant as mlc
import pandas as pd
import pytest

from datasets.models import Task, TaskVersion
from datasets.replace import task_bundle_replace
from testkit.bundles import CLASSES, write_classification_bundle, zip_bundle
from tests.datasets_tests.factories import UserFactory, api_client_for, imported_task

pytestmark = pytest.mark.django_db


def relabel(df: pd.DataFrame, count: int) -> pd.DataFrame:
    labels = list(df["label"])
    for i in range(count):
        labels[i] = CLASSES[(CLASSES.index(labels[i]) + 1) % len(CLASSES)]
    return df.assign(label=labels)


@pytest.fixture
def replaced(tmp_path: Path) -> Task:
    """Version 1 as imported; version 2: three train rows gone, two relabelled, five test
    rows relabelled, four test rows added."""
    task = imported_task(tmp_path, slug="versioned", rows=60)
    folder = write_classification_bundle(
        tmp_path / "v2",
        task={"slug": task.slug},
        rows=60,
        train=lambda df: relabel(df.iloc[3:].reset_index(drop=True), 2),
        solution=lambda df: relabel(df, 5),
    )
    extra = write_classification_bundle(tmp_path / "extra", rows=68)  # a longer test file
    for part in ("test", "solution"):
        longer = pd.read_csv(extra / f"{part}.csv")
        mine = pd.read_csv(folder / f"{part}.csv")
        added = longer.iloc[len(mine) :].assign(id=lambda d: "new-" + d["id"].astype(str))
        pd.concat([mine, added]).to_csv(folder / f"{part}.csv", index=False)
    organizer = UserFactory(username="org", is_staff=True)
    task_bundle_replace(
        task=task, source=zip_bundle(folder, tmp_path / "v2.zip"), actor=organizer, reason="fix"
    )
    task.refresh_from_db()
    return task


def test_anyone_lists_the_versions_with_what_changed_and_their_croissant(replaced: Task) -> None:
    listed = api_client_for(None).get(f"/api/v1/tasks/{replaced.slug}/versions/").json()
    assert [v["number"] for v in listed] == [2, 1]
    newest, first = listed
    assert newest["reason"] == newest["note"] == "fix" and newest["current"] is True
    assert newest["train_rows"] == 57 and newest["test_rows"] == first["test_rows"] + 4
    assert newest["changes"] == {
        "train": {"added": 0, "removed": 3, "relabelled": 2},
        "test": {"added": 4, "removed": 0, "relabelled": 5},
    }
    assert first["changes"] is None and first["note"] == "the imported data"
    assert newest["croissant"].endswith(f"/api/v1/tasks/{replaced.slug}/croissant.json?version=2")
    assert first["croissant"].endswith("croissant.json?version=1")
    assert "created_by" not in newest and "sha256" not in newest
    # counted once and kept: the stored files are not read again
    assert TaskVersion.objects.get(task=replaced, number=2).changes == newest["changes"]
    organizer = api_client_for(UserFactory(username="boss", is_staff=True))
    managed = organizer.get(f"/api/v1/tasks/{replaced.slug}/versions/").json()
    assert managed[0]["created_by"] == "org" and managed[0]["changes"] == newest["changes"]


def test_an_earlier_version_s_croissant_describes_and_serves_that_version(
    replaced: Task,
) -> None:
    api = api_client_for(UserFactory(username="ann"))
    old = json.loads(api.get(f"/api/v1/tasks/{replaced.slug}/croissant.json?version=1").content)
    now = json.loads(api.get(f"/api/v1/tasks/{replaced.slug}/croissant.json").content)
    assert (old["version"], now["version"]) == ("1.0.0", "2.0.0")
    assert old["datePublished"] < now["datePublished"]
    mlc.Dataset(jsonld=old)
    files = {f["name"]: f for f in old["distribution"]}
    version_1 = TaskVersion.objects.get(task=replaced, number=1)
    url = files["train.csv"]["contentUrl"]
    assert url.endswith("/files/train.csv?version=1")
    body = b"".join(api.get(url.replace("http://testserver", "")).streaming_content)
    assert hashlib.sha256(body).hexdigest() == files["train.csv"]["sha256"]
    assert len(pd.read_csv(pd.io.common.BytesIO(body))) == version_1.train_rows == 60
    current = b"".join(
        api.get(f"/api/v1/tasks/{replaced.slug}/files/train.csv").streaming_content
    )
    assert len(pd.read_csv(pd.io.common.BytesIO(current))) == 57
    assert files["train.csv"]["sha256"] != {f["name"]: f for f in now["distribution"]}[
        "train.csv"
    ]["sha256"]
    # an earlier version's solution is nobody's download, not even an organizer's
    boss = api_client_for(UserFactory(username="boss", is_staff=True))
    for client in (api, boss):
        url = f"/api/v1/tasks/{replaced.slug}/files/solution.parquet?version=1"
        assert client.get(url).status_code == 404
    assert api_client_for(None).get(
        f"/api/v1/tasks/{replaced.slug}/files/train.csv?version=1"
    ).status_code == 401


def test_a_version_replaced_before_versions_kept_their_schema_is_not_guessed(
    replaced: Task,
) -> None:
    TaskVersion.objects.filter(task=replaced, number=1).update(meta={}, card={})
    api = api_client_for(UserFactory(username="ann"))
    old = json.loads(api.get(f"/api/v1/tasks/{replaced.slug}/croissant.json?version=1").content)
    mlc.Dataset(jsonld=old)
    fields = {f["name"]: f for f in old["recordSet"][0]["field"]}
    assert fields["price"]["tc:role"] == "numeric"  # a number, from the file's own schema
    assert "tc:role" not in fields["title"]  # text, category or image path: not guessed
    assert fields["label"]["tc:role"] == "label"


def test_the_task_page_links_the_croissant_and_every_version(replaced: Task) -> None:
    from django.test import Client

    page = Client().get(f"/tasks/{replaced.slug}/").content.decode()
    assert f'href="/api/v1/tasks/{replaced.slug}/croissant.json"' in page
    assert f'href="/api/v1/tasks/{replaced.slug}/croissant.json?version=1"' in page
    assert f'href="/api/v1/tasks/{replaced.slug}/croissant.json?version=2"' in page
    version_2 = page[page.index('data-version="2"') : page.index('data-version="1"')]
    assert "(current)" in version_2 and "fix" in version_2
    assert "train 0 added, 3 removed, 2 relabelled" in " ".join(version_2.split())
    assert "test 4 added, 0 removed, 5 relabelled" in " ".join(version_2.split())


def test_the_task_detail_names_its_croissant(replaced: Task) -> None:
    detail = api_client_for(None).get(f"/api/v1/tasks/{replaced.slug}/").json()
    assert detail["croissant"] == f"http://testserver/api/v1/tasks/{replaced.slug}/croissant.json"
