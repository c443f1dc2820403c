"""``GET /api/v1/tasks/<slug>/croissant.json``: every demo task's data in Croissant 1.1 that
mlcroissant validates and loads (through a live server: the rows are the train file's),
describing only what the reader may download, never the solution."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlcroissant as mlc
import pandas as pd
import pytest
import requests

from challenges.models import Challenge, Team, TeamMembership
from datasets.models import Task
from datasets.services import task_import
from testkit.demo_data import DemoBundle, demo_slugs
from tests.datasets_tests.croissant_support import (  # noqa: F401 - fixture
    croissant_cache,
    records_frame,
    table_rows,
)
from tests.datasets_tests.factories import UserFactory, api_client_for, imported_task, token_for

ROLE_TYPES = {
    "id": ["sc:Text"],
    "text": ["sc:Text"],
    "categorical": ["sc:Text"],
    "numeric": ["sc:Float"],
    "image": ["sc:Text", "sc:ImageObject"],
}


def croissant(api, slug: str, **params) -> dict:
    response = api.get(f"/api/v1/tasks/{slug}/croissant.json", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/ld+json")
    return json.loads(response.content)


def validated(doc: dict) -> mlc.Dataset:
    """mlcroissant's reading of ``doc``; it raises on any validation error."""
    dataset = mlc.Dataset(jsonld=doc)
    assert not dataset.metadata.ctx.issues.errors
    return dataset


def fields_of(doc: dict, record_set: str) -> dict[str, dict]:
    (found,) = [r for r in doc["recordSet"] if r["@id"] == record_set]
    return {f["name"]: f for f in found["field"]}


def stored_sha256(task: Task, field: str) -> str:
    with getattr(task, field).open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.mark.django_db
@pytest.mark.slow
@pytest.mark.parametrize("demo_bundle", demo_slugs(), indirect=True)
def test_every_demo_task_is_valid_croissant_describing_its_files_and_columns(
    demo_bundle: DemoBundle, participant_api, anonymous_api
) -> None:
    task = task_import(
        source=demo_bundle.path, challenge_slug="demo", track_slug=demo_bundle.track_slug
    )
    doc = croissant(participant_api, task.slug)
    validated(doc)
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert doc["name"] == task.title and doc["version"] == "1.0.0"
    assert doc["tc:kind"] == task.kind and doc["tc:dataVersion"] == 1
    # what the demo's source says of itself (its citation...), and nothing it does not say
    assert doc.get("citeAs") == task.meta.get("citation")
    assert "license" not in doc  # no demo source states its data's licence
    notes = {k: v for k, v in doc.items() if k.startswith("rai:")}
    assert len(notes) == len(task.meta.get("rai") or {})
    files = {f["name"]: f for f in doc["distribution"]}
    expected = {"train.csv", "train.parquet", "test.csv", "test.parquet"}
    if task.images_zip:
        expected.add("images.zip")
    assert set(files) == expected
    for name, field in (("train.parquet", "train_parquet"), ("test.csv", "test_csv")):
        assert files[name]["sha256"] == stored_sha256(task, field)
        assert files[name]["contentUrl"].endswith(f"/tasks/{task.slug}/files/{name}?version=1")
    # record sets train and test only, each column once with its type and role
    assert [r["@id"] for r in doc["recordSet"]] == ["train", "test"]
    columns = [c["name"] for c in task.columns]
    train, test = fields_of(doc, "train"), fields_of(doc, "test")
    assert list(train) == ["id", *columns, "label"]
    assert list(test) == ["id", *columns]
    for column in task.columns:
        field = train[column["name"]]
        assert field["tc:role"] == column["type"]
        assert field["dataType"] == ROLE_TYPES[column["type"]]
    label_type = {"matching": "sc:Integer", "regression": "sc:Float"}.get(task.kind, "sc:Text")
    assert train["label"]["dataType"] == [label_type, "cr:Label"]
    assert train["id"]["tc:role"] == "id"
    text = json.dumps(doc)
    assert "solution" not in files and "split" not in train and "split" not in test
    assert "private" not in text.lower().replace("private rows", "")
    # an anonymous reader gets the card: the same facts, no file and no record set
    public = croissant(anonymous_api, task.slug)
    validated(public)
    assert "distribution" not in public and "recordSet" not in public  # absent, not empty
    assert public["name"] == doc["name"] and public["version"] == doc["version"]
    assert [v["name"] for v in public["variableMeasured"]] == ["id", *columns, "label"]
    assert "sha256" not in json.dumps(public) and "/files/" not in json.dumps(public)


@pytest.mark.slow
@pytest.mark.usefixtures("croissant_cache")
@pytest.mark.parametrize("demo_bundle", demo_slugs(), indirect=True)
def test_mlcroissant_loads_the_train_file_through_a_live_server(
    demo_bundle: DemoBundle, live_server, monkeypatch
) -> None:
    task = task_import(
        source=demo_bundle.path, challenge_slug="demo", track_slug=demo_bundle.track_slug
    )
    user = UserFactory(username="carol")
    token = token_for(user)
    url = f"{live_server.url}/api/v1/tasks/{task.slug}/croissant.json"
    doc = requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=30).json()
    # mlcroissant sends these as HTTP Basic for every file it downloads
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_USERNAME", "carol")
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_PASSWORD", token)
    dataset = mlc.Dataset(jsonld=doc)
    with task.train_parquet.open("rb") as handle:
        train = pd.read_parquet(handle)
    columns = list(train.columns)
    loaded = records_frame(dataset.records("train"), "train", columns)
    assert loaded == table_rows(train)
    test = mlc.Dataset(jsonld=doc).records("test")
    with task.test_parquet.open("rb") as handle:
        expected_test = pd.read_parquet(handle)
    assert records_frame(test, "test", list(expected_test.columns)) == table_rows(expected_test)


@pytest.mark.django_db
def test_an_anonymous_reader_gets_a_valid_card_without_files_or_record_sets(
    tmp_path: Path, anonymous_api
) -> None:
    """docs/participants/formats.md: the card alone, "no `distribution`, no `recordSet`": the
    keys are absent (they were empty lists), and mlcroissant still validates the document."""
    task = imported_task(tmp_path, slug="open-card")
    doc = croissant(anonymous_api, task.slug)
    dataset = validated(doc)
    assert "distribution" not in doc and "recordSet" not in doc
    assert dataset.metadata.distribution == [] and dataset.metadata.record_sets == []
    assert doc["variableMeasured"][0]["name"] == "id"  # the columns, described


@pytest.mark.django_db
def test_a_reader_who_has_not_accepted_the_rules_gets_the_card_alone(
    tmp_path: Path, participant, participant_api, organizer_api
) -> None:
    task = imported_task(tmp_path, slug="ruled")
    Challenge.objects.filter(pk=task.track.challenge_id).update(rules="Be nice.", rules_version=1)
    doc = croissant(participant_api, task.slug)
    validated(doc)
    # absent, as docs/participants/formats.md says
    assert "distribution" not in doc and "recordSet" not in doc
    assert participant_api.get(f"/api/v1/tasks/{task.slug}/files/train.csv").status_code == 403
    accepted = participant_api.post(
        f"/api/v1/challenges/{task.track.challenge.slug}/rules/accept/",
        {"version": 1},
        format="json",
    )
    assert accepted.status_code in (200, 201), accepted.content
    doc = croissant(participant_api, task.slug)
    assert {f["name"] for f in doc["distribution"]} >= {"train.parquet", "test.parquet"}
    # only organizers learn how the test rows are split; nobody gets the solution
    assert "tc:splitSeed" not in doc
    organizer_doc = croissant(organizer_api, task.slug)
    assert organizer_doc["tc:publicFraction"] == task.public_fraction
    assert organizer_doc["tc:splitSeed"] == task.split_seed
    assert "solution" not in {f["name"] for f in organizer_doc["distribution"]}


@pytest.mark.django_db
def test_the_bundle_s_licence_citation_rai_and_owners_are_in_the_card(tmp_path: Path) -> None:
    task = imported_task(
        tmp_path,
        slug="cited",
        task={
            "license": "https://spdx.org/licenses/CC-BY-4.0.html",
            "citation": "@misc{shop, title={Shop items}}",
            "rai": {
                "data_collection": "Exported from the shop's catalogue in 2024.",
                "personal_sensitive_information": "None: product data only.",
            },
        },
    )
    owners = Team.objects.create(challenge=task.track.challenge, name="Catalogue team")
    Task.objects.filter(pk=task.pk).update(owner_team=owners)
    doc = croissant(api_client_for(None), task.slug)
    validated(doc)
    assert doc["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    assert doc["citeAs"] == "@misc{shop, title={Shop items}}"
    assert doc["creator"] == [{"@type": "sc:Organization", "name": "Catalogue team"}]
    assert doc["rai:dataCollection"] == "Exported from the shop's catalogue in 2024."
    assert doc["rai:personalSensitiveInformation"] == "None: product data only."
    # what the bundle does not say is left out, not invented
    assert "rai:dataBiases" not in doc
    dataset = validated(doc)
    assert dataset.metadata.license == ["https://spdx.org/licenses/CC-BY-4.0.html"]
    bare = croissant(api_client_for(None), imported_task(tmp_path, slug="bare").slug)
    assert not {"license", "citeAs", "creator"} & set(bare)
    assert not [k for k in bare if k.startswith("rai:")]


@pytest.mark.django_db
def test_bad_rai_and_licence_in_task_yaml_are_listed_and_nothing_is_imported(
    tmp_path: Path,
) -> None:
    from datasets.services import TaskImportError

    with pytest.raises(TaskImportError) as refused:
        imported_task(
            tmp_path,
            slug="bad-about",
            task={"license": ["MIT"], "rai": {"data_bias": "typo", "data_biases": 3}},
        )
    problems = refused.value.problems
    assert "task.yaml: license must be text, not list" in problems
    hint = "unknown key 'rai.data_bias' (did you mean 'rai.data_biases'?)"
    assert any(hint in p for p in problems)
    assert "task.yaml: rai.data_biases must be text, not int" in problems
    assert not Task.objects.filter(slug="bad-about").exists()


@pytest.mark.django_db
def test_unknown_tasks_and_versions_are_404(tmp_path: Path, participant_api) -> None:
    task = imported_task(tmp_path, slug="known")
    assert participant_api.get("/api/v1/tasks/nope/croissant.json").status_code == 404
    for bad in ("2", "0", "x", "-1", "99999999999"):
        response = participant_api.get(f"/api/v1/tasks/{task.slug}/croissant.json?version={bad}")
        assert response.status_code == 404, bad
        response = participant_api.get(f"/api/v1/tasks/{task.slug}/files/train.csv?version={bad}")
        assert response.status_code == 404, bad


@pytest.mark.django_db
def test_basic_auth_takes_an_api_token_never_a_password(tmp_path: Path, anonymous_api) -> None:
    import base64

    task = imported_task(tmp_path, slug="basic")
    user = UserFactory(username="dave")
    token = token_for(user)
    url = f"/api/v1/tasks/{task.slug}/files/train.csv"

    def basic(username: str, secret: str) -> str:
        return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()

    ok = anonymous_api.get(url, HTTP_AUTHORIZATION=basic("dave", token))
    assert ok.status_code == 200
    for header in (
        basic("dave", "pw-for-tests"),  # the account's password is no API token
        basic("erin", token),  # another user's name with dave's token
        basic("dave", ""),
        "Basic !!!not-base64",
        "Basic",
    ):
        refused = anonymous_api.get(url, HTTP_AUTHORIZATION=header)
        assert refused.status_code == 401, header
    assert TeamMembership.objects.count() == 0
