"""``manage.py import_task --croissant``: a task exported as Croissant and imported again
scores a submission identically to the original (through a live server, and offline from
downloaded files); a foreign Croissant dataset maps to the task's schema; what cannot be
mapped exits 1 with one line per problem, no traceback and nothing left behind."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from django.core.management import CommandError, call_command

from datasets.models import Task
from datasets.services import task_import
from testkit.demo_data import DemoBundle, data_dir_files
from tests.datasets_tests.croissant_support import croissant_cache  # noqa: F401 - fixture
from tests.datasets_tests.factories import UserFactory, imported_task, token_for
from tests.scoring_tests.factories import predictions_frame, solution_frame
from tests.support.celery_worker import run_manage


def scores(slug: str, predictions: Path) -> dict:
    out = io.StringIO()
    call_command("score_file", "--task", slug, str(predictions), stdout=out)
    return json.loads(out.getvalue())


def same_task(original: Task, copy: Task) -> None:
    for name in ("kind", "columns", "classes", "primary_metric", "public_fraction", "split_seed"):
        assert getattr(copy, name) == getattr(original, name), name
    assert (copy.train_rows, copy.test_rows) == (original.train_rows, original.test_rows)
    assert copy.meta.get("tolerance") == original.meta.get("tolerance")
    for field in ("train_parquet", "test_parquet"):
        with getattr(original, field).open("rb") as a, getattr(copy, field).open("rb") as b:
            pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


@pytest.mark.usefixtures("croissant_cache")
@pytest.mark.parametrize("kind", ["classification", "matching", "regression"])
def test_a_task_exported_and_imported_again_scores_a_submission_identically(
    kind: str, live_server, tmp_path: Path, monkeypatch
) -> None:
    original = imported_task(tmp_path, kind=kind, slug=f"original-{kind}", rows=120)
    organizer = UserFactory(username="organizer", is_staff=True)
    token = token_for(organizer)
    headers = {"Authorization": f"Token {token}"}
    base = f"{live_server.url}/api/v1/tasks/{original.slug}"
    # the organizer keeps the test labels (the Croissant never holds them)
    solution = tmp_path / "solution.parquet"
    solution.write_bytes(requests.get(f"{base}/files/solution.parquet", headers=headers).content)
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_USERNAME", "organizer")
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_PASSWORD", token)
    call_command(
        "import_task",
        "--croissant",
        f"{base}/croissant.json",
        "--solution",
        str(solution),
        "--slug",
        f"copy-{kind}",
        "--challenge",
        "copies",
        "--track",
        "copied",
        stdout=io.StringIO(),
    )
    copy = Task.objects.get(slug=f"copy-{kind}")
    same_task(original, copy)
    assert copy.track.challenge.slug == "copies" and copy.title == original.title
    predictions = tmp_path / "predictions.csv"
    predictions_frame(original, wrong=0.3, seed=4).to_csv(predictions, index=False)
    first, second = scores(original.slug, predictions), scores(copy.slug, predictions)
    assert first == second
    assert set(first) == {"all", "public", "private"}


@pytest.mark.slow
@pytest.mark.usefixtures("croissant_cache")
@pytest.mark.parametrize("demo_bundle", ["digits-images", "febrl-groups"], indirect=True)
def test_a_demo_task_with_images_or_groups_makes_the_same_round_trip(
    demo_bundle: DemoBundle, live_server, tmp_path: Path, monkeypatch
) -> None:
    original = task_import(
        source=demo_bundle.path, challenge_slug="demo", track_slug=demo_bundle.track_slug
    )
    organizer = UserFactory(username="organizer", is_staff=True)
    token = token_for(organizer)
    base = f"{live_server.url}/api/v1/tasks/{original.slug}"
    solution = tmp_path / "solution.parquet"
    headers = {"Authorization": f"Token {token}"}
    solution.write_bytes(requests.get(f"{base}/files/solution.parquet", headers=headers).content)
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_USERNAME", "organizer")
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_PASSWORD", token)
    call_command(
        "import_task",
        "--croissant",
        f"{base}/croissant.json",
        "--solution",
        str(solution),
        "--slug",
        "copy",
        "--challenge",
        "copies",
        "--track",
        "copied",
        stdout=io.StringIO(),
    )
    copy = Task.objects.get(slug="copy")
    same_task(original, copy)
    if original.images_zip:
        import zipfile

        with original.images_zip.open("rb") as a, copy.images_zip.open("rb") as b:
            first, second = zipfile.ZipFile(a), zipfile.ZipFile(b)
            assert sorted(first.namelist()) == sorted(second.namelist())
            name = first.namelist()[0]
            assert first.read(name) == second.read(name)
    predictions = tmp_path / "predictions.csv"
    if original.kind == "grouping":  # id,cluster: most records with their entity
        truth = solution_frame(original)
        alone = np.random.default_rng(4).random(len(truth)) < 0.3
        cluster = np.where(alone, truth["id"], truth["label"])
        pd.DataFrame({"id": truth["id"], "cluster": cluster}).to_csv(predictions, index=False)
    else:
        predictions_frame(original, wrong=0.3, seed=4).to_csv(predictions, index=False)
    assert scores(original.slug, predictions) == scores(copy.slug, predictions)


@pytest.mark.django_db
def test_downloaded_files_beside_the_json_are_imported_without_the_network(
    tmp_path: Path, organizer_api
) -> None:
    """What ``chal download --croissant`` and ``--format parquet`` leave in a folder: the
    files are read from it; the JSON-LD's URLs (of a server that does not exist) are not."""
    original = imported_task(tmp_path, slug="offline", task={"license": "MIT"})
    folder = tmp_path / "downloaded"
    folder.mkdir()
    doc = json.loads(organizer_api.get("/api/v1/tasks/offline/croissant.json").content)
    for item in doc["distribution"]:  # nowhere to download from
        item["contentUrl"] = item["contentUrl"].replace("http://testserver", "http://192.0.2.1")
    (folder / "offline-croissant.json").write_text(json.dumps(doc))
    for name in ("train.parquet", "test.parquet", "solution.parquet"):
        body = b"".join(organizer_api.get(f"/api/v1/tasks/offline/files/{name}").streaming_content)
        (folder / f"offline-{name}").write_bytes(body)
    call_command(
        "import_task",
        "--croissant",
        str(folder / "offline-croissant.json"),
        "--solution",
        str(folder / "offline-solution.parquet"),
        "--slug",
        "offline-copy",
        "--challenge",
        "copies",
        "--track",
        "copied",
        stdout=io.StringIO(),
    )
    copy = Task.objects.get(slug="offline-copy")
    same_task(original, copy)
    assert copy.meta["license"] == "MIT"


def test_an_import_beside_its_original_gets_a_title_of_its_own(
    tmp_path: Path, organizer_api, client
) -> None:
    """A track's board names its columns by title: an export imported again into its
    original's track (offline, from the downloaded files) is titled "<name> (<slug>)" and
    says so; a --title that another task of the track has is refused, nothing imported."""
    original = imported_task(tmp_path, slug="twin", track_slug="shelf")
    doc = json.loads(organizer_api.get("/api/v1/tasks/twin/croissant.json").content)
    folder = tmp_path / "downloaded"
    folder.mkdir()
    (folder / "twin-croissant.json").write_text(json.dumps(doc))
    for name in ("train.parquet", "test.parquet", "solution.parquet"):
        body = b"".join(organizer_api.get(f"/api/v1/tasks/twin/files/{name}").streaming_content)
        (folder / f"twin-{name}").write_bytes(body)
    challenge = original.track.challenge.slug

    def import_copy(slug: str, *title: str) -> str:
        said = io.StringIO()
        call_command(
            "import_task", "--croissant", str(folder / "twin-croissant.json"),
            "--solution", str(folder / "twin-solution.parquet"), "--slug", slug, *title,
            "--challenge", challenge, "--track", "shelf", stdout=io.StringIO(), stderr=said,
        )  # fmt: skip
        return said.getvalue()

    said = import_copy("twin-copy")
    copy = Task.objects.get(slug="twin-copy")
    assert copy.title == f"{original.title} (twin-copy)"
    assert said == (
        f"warning: the dataset's name '{original.title}' is already task 'twin''s title in "
        f"this track: imported as '{original.title} (twin-copy)' (--title chooses another)\n"
    )
    # the track's board: one column per task, each named apart
    page = client.get("/tracks/shelf/").content.decode()
    headers = re.findall(r'<th class="num"><a href="/tasks/[^"]+/leaderboard/">([^<]+)</a>', page)
    assert sorted(headers) == sorted([original.title, copy.title])
    # a title the organizer asks for that the track has: refused, said, nothing imported
    before = data_dir_files()
    with pytest.raises(CommandError) as refused:
        import_copy("twin-again", "--title", f"  {original.title.upper()} ")
    assert refused.value.returncode == 1
    assert (
        f"was not imported: the title '{original.title.upper()}' is already task 'twin''s in "
        "this track (a "
        "track's board names its columns by title): choose another --title"
    ) in str(refused.value)
    assert not Task.objects.filter(slug="twin-again").exists()
    assert data_dir_files() == before
    assert import_copy("twin-named", "--title", "Twin, kept apart") == ""
    assert Task.objects.get(slug="twin-named").title == "Twin, kept apart"


FOREIGN = {
    "@context": {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "sc": "https://schema.org/",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "dct": "http://purl.org/dc/terms/",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileObject": "cr:fileObject",
        "fileProperty": "cr:fileProperty",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
        "equivalentProperty": "cr:equivalentProperty",
        "samplingRate": "cr:samplingRate",
    },
    "@type": "sc:Dataset",
    "conformsTo": "http://mlcommons.org/croissant/1.1",
    "name": "Fruit quality",
    "description": "Is the fruit good? From a grocer's sensors.",
    "url": "https://example.org/fruit",
    "license": "https://spdx.org/licenses/CC0-1.0.html",
    "citeAs": "@misc{fruit}",
    "rai:dataBiases": "Summer fruit only.",
}


def _field(part: str, name: str, data_type, file: str, **extra) -> dict:
    return {
        "@type": "cr:Field",
        "@id": f"{part}/{name}",
        "name": name,
        "dataType": data_type,
        "source": {"fileObject": {"@id": file}, "extract": {"column": name}},
        **extra,
    }


def foreign_dataset(folder: Path, *, extra_fields=(), distribution_extra=()) -> Path:
    """A Croissant dataset as another tool writes it: CSV files beside it, relative URLs,
    labels in both record sets (sc:Text), a key, numbers, a flag and free text."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {}
    for part, n, offset in (("train", 40, 0), ("test", 20, 1000)):
        frames[part] = pd.DataFrame(
            {
                "fruit_id": [f"f{offset + i:04d}" for i in range(n)],
                "weight": [100.0 + (i * 7) % 50 for i in range(n)],
                "organic": [i % 3 == 0 for i in range(n)],
                "notes": [f"crate {offset + i} by {'ann' if i % 2 else 'bob'}" for i in range(n)],
                "quality": ["good" if i % 3 else "bad" for i in range(n)],
            }
        )
        frames[part].to_csv(folder / f"{part}.csv", index=False)
    doc = json.loads(json.dumps(FOREIGN))
    doc["distribution"] = [
        {
            "@type": "cr:FileObject",
            "@id": f"{part}.csv",
            "name": f"{part}.csv",
            "contentUrl": f"{part}.csv",
            "encodingFormat": "text/csv",
            "sha256": hashlib.sha256((folder / f"{part}.csv").read_bytes()).hexdigest(),
        }
        for part in ("train", "test")
    ] + list(distribution_extra)
    doc["recordSet"] = [
        {
            "@type": "cr:RecordSet",
            "@id": part,
            "name": part,
            "key": {"@id": f"{part}/fruit_id"},
            "field": [
                _field(part, "fruit_id", "sc:Text", f"{part}.csv"),
                _field(part, "weight", "sc:Float", f"{part}.csv"),
                _field(part, "organic", "sc:Boolean", f"{part}.csv"),
                _field(part, "notes", "sc:Text", f"{part}.csv"),
                _field(part, "quality", ["sc:Text", "cr:Label"], f"{part}.csv"),
                *(f(part) for f in extra_fields),
            ],
        }
        for part in ("train", "test")
    ]
    path = folder / "croissant.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.django_db
def test_a_foreign_croissant_dataset_maps_to_the_task_schema(tmp_path: Path) -> None:
    source = foreign_dataset(tmp_path / "fruit")
    call_command(
        "import_task",
        "--croissant",
        str(source),
        "--challenge",
        "market",
        "--track",
        "produce",
        stdout=io.StringIO(),
    )
    task = Task.objects.get(slug="fruit-quality")
    assert task.kind == "classification" and task.classes == ["bad", "good"]
    types = {c["name"]: c["type"] for c in task.columns}
    assert types == {"weight": "numeric", "organic": "categorical", "notes": "text"}
    assert (task.train_rows, task.test_rows) == (40, 20)
    assert task.meta["license"] == "https://spdx.org/licenses/CC0-1.0.html"
    assert task.meta["citation"] == "@misc{fruit}"
    assert task.meta["rai"] == {"data_biases": "Summer fruit only."}
    with task.test_parquet.open("rb") as handle:
        test = pd.read_parquet(handle)
    assert "label" not in test.columns and test["id"].iloc[0] == "f1000"
    with task.solution.open("rb") as handle:
        truth = pd.read_parquet(handle)
    assert truth.set_index("id")["label"]["f1000"] == "bad"


def not_json(folder: Path) -> Path:
    folder.mkdir()
    (folder / "c.json").write_text("{")
    return folder / "c.json"


def heavy_weight(folder: Path) -> Path:
    """A number field whose file holds a word."""
    source = foreign_dataset(folder)
    train = pd.read_csv(folder / "train.csv").astype({"weight": object})
    train.loc[3, "weight"] = "heavy"
    train.to_csv(folder / "train.csv", index=False)
    return rehashed(source)


def evil_images(folder: Path) -> Path:
    """Image paths read from an images.zip with a member outside its folder."""
    import zipfile

    def picture(part: str) -> dict:
        return _field(part, "picture", ["sc:Text", "sc:ImageObject"], f"{part}.csv")

    source = foreign_dataset(folder, extra_fields=[picture])
    for part in ("train", "test"):
        frame = pd.read_csv(folder / f"{part}.csv").assign(picture="a.png")
        frame.to_csv(folder / f"{part}.csv", index=False)
    with zipfile.ZipFile(folder / "images.zip", "w") as archive:
        archive.writestr("a.png", b"not really")
        archive.writestr("../evil.png", b"outside")
    doc = json.loads(source.read_text())
    doc["distribution"].append(
        {
            "@type": "cr:FileObject",
            "@id": "images.zip",
            "name": "images.zip",
            "contentUrl": "images.zip",
            "encodingFormat": "application/zip",
            "sha256": "",
        }
    )
    source.write_text(json.dumps(doc))
    return rehashed(source)


def rehashed(source: Path) -> Path:
    """The JSON-LD with its local files' checksums updated after they were edited."""
    doc = json.loads(source.read_text())
    for item in doc["distribution"]:
        local = source.parent / str(item.get("contentUrl"))
        if local.is_file():
            item["sha256"] = hashlib.sha256(local.read_bytes()).hexdigest()
    source.write_text(json.dumps(doc))
    return source


def bounding_box(part: str) -> dict:
    return _field(part, "box", "cr:BoundingBox", f"{part}.csv")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda folder: foreign_dataset(folder, extra_fields=[bounding_box]),
            [
                "- field 'box' of record set 'train' has the data type cr:BoundingBox, which maps"
                " to no column type (text, numeric, categorical, image)",
                "- field 'box' of record set 'test' has the data type cr:BoundingBox, which maps"
                " to no column type (text, numeric, categorical, image)",
            ],
        ),
        (
            lambda folder: foreign_dataset(
                folder,
                distribution_extra=[
                    {
                        "@type": "cr:FileObject",
                        "@id": "secret",
                        "contentUrl": "../secret.csv",
                        "encodingFormat": "text/csv",
                        "sha256": "0" * 64,
                    },
                    {
                        "@type": "cr:FileObject",
                        "@id": "passwd",
                        "contentUrl": "/etc/passwd",
                        "encodingFormat": "text/csv",
                        "sha256": "0" * 64,
                    },
                    {
                        "@type": "cr:FileSet",
                        "@id": "shards",
                        "includes": "*.csv",
                        "encodingFormat": "text/csv",
                    },
                ],
            ),
            [
                "- distribution 'secret': contentUrl '../secret.csv' is neither an http(s) URL"
                " nor a file inside the JSON-LD's folder",
                "- distribution 'passwd': contentUrl '/etc/passwd' is neither an http(s) URL nor"
                " a file inside the JSON-LD's folder",
                "- distribution 'shards': file sets are not supported; describe each table as a"
                " FileObject",
            ],
        ),
        (lambda folder: not_json(folder), ["is not JSON"]),
        (
            lambda folder: heavy_weight(folder),
            [": record set 'train' could not be read: could not convert string to float: 'heavy'"],
        ),
        (
            lambda folder: evil_images(folder),
            [": images.zip: member '../evil.png' has '..' in the path"],
        ),
        (lambda folder: folder / "nothing.json", ["nothing.json: no such file"]),
    ],
    ids=["bounding-box", "unsafe-files", "not-json", "bad-number", "zip-slip", "missing"],
)
def test_what_cannot_be_mapped_exits_1_one_line_per_problem(
    tmp_path: Path, make, says: list[str]
) -> None:
    source = make(tmp_path / "dataset")
    (tmp_path / "secret.csv").write_text("fruit_id,weight\nx,1\n")
    before = data_dir_files()
    result = run_manage(
        "import_task", "--croissant", str(source), "--challenge", "market", "--track", "produce"
    )
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert "was not imported" in lines[0]
    for said in says:
        assert any(said in line for line in lines), (said, lines)
    assert not Task.objects.exists()
    assert data_dir_files() == before  # no bundle, staging folder or stored file left


@pytest.mark.django_db(transaction=True)
def test_test_rows_without_labels_need_a_solution_file(tmp_path: Path) -> None:
    source = foreign_dataset(tmp_path / "fruit")
    doc = json.loads(source.read_text())
    test = doc["recordSet"][1]
    test["field"] = [f for f in test["field"] if f["name"] != "quality"]
    source.write_text(json.dumps(doc))
    result = run_manage(
        "import_task", "--croissant", str(source), "--challenge", "market", "--track", "produce"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        "was not imported: record set 'test' has no labels: give the test rows' labels as a"
        " file with id and"
        " label (--solution FILE), or type a test field cr:Label"
    ) in result.stderr
    usage = run_manage("import_task", "--challenge", "market", "--track", "produce")
    assert usage.returncode == 2 and "give a bundle, or --croissant" in usage.stderr
