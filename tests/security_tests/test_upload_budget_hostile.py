"""Issue 39's probes of the upload paths, replayed through the real web server (gunicorn as
the Procfile starts it, two processes sharing their counters in Redis), real HTTP:

- 70 uploads in a row on the web form: refused past the team's rate with 429 and the
  message in the form; the API, the algorithm form and ``chal submit`` share the budget;
- 15 algorithm archives of 18.9 MiB: refused past the team's storage quota with 413 and a
  message naming the quota and the use; the refused ones store nothing;
- 73 versions marked in the benchmark: refused past the cap with 409 naming the marked ones,
  on the API and the page;
- ``Ali\u0307ceTeam`` beside ``AliceTeam``: refused;
- issue 51's paths outside the budget, a task owner's data version, reference file and
  write-up PDF (API and page for each that has one): 429 past the team's rate, 413 at its
  storage quota, nothing stored or queued.

No answer is a 500. The server's rate is ``60/hour`` here rather than the default
``60/minute``: the same count, with a window that a loaded test machine cannot outlast.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings

from algorithms.models import AlgorithmVersion
from challenges.models import Team
from datasets.models import TaskVersionUpload
from scoring.models import Reference, Submission
from standings.models import MethodWriteup
from testkit.archives import algorithm_zip, manifest
from testkit.bundles import write_classification_bundle, zip_bundle
from tests.scoring_tests.factories import (
    UserFactory,
    csv_bytes,
    imported_task,
    make_participant,
    predictions_frame,
)
from tests.support.web_server import (
    WebServer,
    api_token,
    csrf_token,
    start_web_server,
    web_login,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"  # UserFactory's
QUOTA_MB = 200
ARCHIVE_BYTES = int(18.9 * 1024 * 1024)


@pytest.fixture(scope="module")
def server_data(tmp_path_factory) -> Path:
    """The server's own data folder: what it stores is measured alone, whatever else runs."""
    return tmp_path_factory.mktemp("web-data")


@pytest.fixture(scope="module")
def server(django_db_setup, redis_server, server_data, tmp_path_factory) -> Iterator[WebServer]:
    running = start_web_server(
        redis_url=redis_server.url,
        log_path=tmp_path_factory.mktemp("gunicorn") / "web.log",
        env={"TEAM_UPLOAD_RATE": "60/hour", "TEAM_STORAGE_QUOTA_MB": str(QUOTA_MB)},
        data_dir=server_data,
    )
    yield running
    running.stop()


@pytest.fixture
def web(server: WebServer) -> WebServer:
    server.clear_cache()
    return server


@pytest.fixture
def task(tmp_path: Path):
    task = imported_task(tmp_path, slug="hostile-task")
    challenge = task.track.challenge
    challenge.daily_submission_limit = 200  # the rate is the subject here, not the day
    challenge.save()
    return task


def stored_bytes(data_dir: Path) -> int:
    """What the server keeps in private storage (``PRIVATE_ROOT`` under its data folder)."""
    root = data_dir / Path(settings.PRIVATE_ROOT).relative_to(settings.DATA_DIR)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def no_server_error(server: WebServer) -> None:
    log = server.log_tail(200_000)
    assert "Traceback" not in log and '" 500 ' not in log, log[-4000:]


def post_form(session: requests.Session, server: WebServer, path: str, data: dict, files: dict):
    token = session.cookies.get("csrftoken") or csrf_token(session, server.url + path)
    return session.post(
        server.url + path,
        data={**data, "csrfmiddlewaretoken": token},
        files=files,
        headers={"Referer": server.url + path},
        allow_redirects=False,
        timeout=120,
    )


def test_70_uploads_in_a_row_on_the_web_form_stop_at_the_team_s_rate(web, task, tmp_path):
    alice = make_participant(task.track.challenge, username="alice")
    rival = make_participant(task.track.challenge, username="rival")
    session = web_login(web, "alice", PASSWORD)
    csrf_token(session, f"{web.url}/tasks/{task.slug}/submit/")
    data = csv_bytes(predictions_frame(task, scores=False))

    answers = [
        post_form(session, web, f"/tasks/{task.slug}/submit/", {}, {"file": ("p.csv", data)})
        for _ in range(70)
    ]
    codes = [a.status_code for a in answers]
    assert codes[:60] == [302] * 60 and codes[60:] == [429] * 10, codes
    for refused in answers[60:]:
        assert int(refused.headers["Retry-After"]) > 0
        assert "Too many uploads: your team sent 60 in the last hour" in refused.text
        assert 'data-role="upload-error" role="alert">Too many uploads' in refused.text
    assert Submission.objects.filter(team=alice.team).count() == 60

    # Every other path of the team is refused with the same budget, before the body is read.
    key = api_token(web, "alice", PASSWORD)
    api = requests.post(
        f"{web.url}/api/v1/tasks/{task.slug}/submissions/",
        headers={"Authorization": f"Token {key}"},
        files={"file": ("p.csv", data)},
        timeout=60,
    )
    assert api.status_code == 429 and api.json()["code"] == "rate_limited"
    assert api.json()["retry_after"] and int(api.headers["Retry-After"]) > 0
    archive = post_form(
        session,
        web,
        "/algorithms/upload/",
        {"challenge": task.track.challenge.slug, "name": ""},
        {"file": ("a.zip", algorithm_zip())},
    )
    assert archive.status_code == 429 and "Too many uploads" in archive.text
    predictions = tmp_path / "p.csv"
    predictions.write_bytes(data)
    env = {**os.environ, "CHAL_SERVER": web.url, "CHAL_TOKEN": key,
           "CHAL_CONFIG": str(tmp_path / "chal.json")}  # fmt: skip
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "chal"), "submit", task.slug, str(predictions)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1
    assert "Too many uploads: your team sent 60" in cli.stderr
    assert "Too many requests; try again after" in cli.stderr
    assert Submission.objects.filter(team=alice.team).count() == 60

    # Another team's budget is its own.
    other = web_login(web, "rival", PASSWORD)
    first = post_form(other, web, f"/tasks/{task.slug}/submit/", {}, {"file": ("p.csv", data)})
    assert first.status_code == 302
    assert Submission.objects.filter(team=rival.team).count() == 1
    no_server_error(web)


def big_archive(seed: int) -> bytes:
    """A valid algorithm archive of about :data:`ARCHIVE_BYTES` (random weights in two
    members under the member cap, stored as is)."""
    buffer = io.BytesIO()
    half = (ARCHIVE_BYTES - 1000 - seed % 7) // 2
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("algorithm.yaml", manifest("Heavy"))
        archive.writestr("main.py", "print('hi')\n")
        archive.writestr("weights-1.bin", os.urandom(half))
        archive.writestr("weights-2.bin", os.urandom(half))
    return buffer.getvalue()


def test_15_archives_of_18_9_mib_stop_at_the_storage_quota_and_store_nothing_more(
    web, task, server_data
):
    make_participant(task.track.challenge, username="heavy")
    session = web_login(web, "heavy", PASSWORD)
    csrf_token(session, f"{web.url}/algorithms/")
    answers, stored, sizes = [], [], []
    for i in range(15):
        data = big_archive(i)
        sizes.append(len(data))
        answer = post_form(
            session,
            web,
            "/algorithms/upload/",
            {"challenge": task.track.challenge.slug, "name": "Heavy"},
            {"file": ("heavy.zip", data)},
        )
        answers.append(answer)
        stored.append(stored_bytes(server_data))
    codes = [a.status_code for a in answers]
    fits = QUOTA_MB * 1024 * 1024 // max(sizes)  # 10
    assert fits == QUOTA_MB * 1024 * 1024 // min(sizes) == 10
    assert codes[:fits] == [302] * fits and codes[fits:] == [413] * (15 - fits), codes
    assert AlgorithmVersion.objects.count() == fits
    # The refused ones stored nothing: storage stands where the last accepted one left it.
    assert stored[fits:] == [stored[fits - 1]] * (15 - fits)
    refusal = answers[fits].text
    assert "storage quota is 200 MiB and it uses" in refusal
    assert f"({fits} algorithm archives)" in refusal  # only the kinds it stores
    assert "nothing was stored" in refusal

    # The API refuses the next one before reading its body, and a prediction file too.
    key = api_token(web, "heavy", PASSWORD)
    api = requests.post(
        f"{web.url}/api/v1/challenges/{task.track.challenge.slug}/algorithms/",
        headers={"Authorization": f"Token {key}"},
        files={"file": ("heavy.zip", big_archive(0))},
        timeout=120,
    )
    assert api.status_code == 413 and api.json()["code"] == "storage_quota"
    file = csv_bytes(predictions_frame(task, scores=False))
    big = file + b"\n" * (12 * 1024 * 1024)  # trailing blank lines: 12 MiB more than the room
    answer = requests.post(
        f"{web.url}/api/v1/tasks/{task.slug}/submissions/",
        headers={"Authorization": f"Token {key}"},
        files={"file": ("p.csv", big)},
        timeout=120,
    )
    assert answer.status_code == 413 and answer.json()["code"] == "storage_quota"
    assert stored_bytes(server_data) == stored[fits - 1]
    no_server_error(web)


def test_73_versions_marked_in_the_benchmark_stop_at_the_cap(web, task):
    owner = make_participant(task.track.challenge, username="marker")
    key = api_token(web, "marker", PASSWORD)
    created = requests.post(
        f"{web.url}/api/v1/challenges/{task.track.challenge.slug}/algorithms/",
        headers={"Authorization": f"Token {key}"},
        files={"file": ("a.zip", algorithm_zip(name="Marked"))},
        timeout=60,
    )
    assert created.status_code == 201, created.text
    first = AlgorithmVersion.objects.get(algorithm_id=created.json()["id"])
    for number in range(2, 74):  # 72 more versions (73 uploads would meet the upload rate)
        AlgorithmVersion.objects.create(
            algorithm=first.algorithm, number=number, archive=first.archive.name,
            archive_sha256=first.archive_sha256, archive_size=first.archive_size,
        )  # fmt: skip
    answers = [
        requests.patch(
            f"{web.url}/api/v1/algorithms/{first.algorithm_id}/versions/{number}/",
            headers={"Authorization": f"Token {key}"},
            json={"in_benchmark": True},
            timeout=60,
        )
        for number in range(1, 74)
    ]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [200] * 3 and codes[3:] == [409] * 70, codes
    assert answers[3].json()["code"] == "benchmark_cap"
    assert "Marked v1, Marked v2, Marked v3" in answers[72].json()["detail"]
    marked = AlgorithmVersion.objects.filter(algorithm__team=owner.team, in_benchmark=True)
    assert sorted(marked.values_list("number", flat=True)) == [1, 2, 3]

    session = web_login(web, "marker", PASSWORD)
    page = f"/algorithms/{first.algorithm_id}/"
    csrf_token(session, web.url + page)
    refused = post_form(
        session, web, f"/algorithms/{first.algorithm_id}/versions/50/mark/", {"benchmark": "in"}, {}
    )
    assert refused.status_code == 409
    assert "already has 3 versions marked in the benchmark" in refused.text
    assert "Marked v1, Marked v2, Marked v3" in refused.text
    assert marked.count() == 3
    no_server_error(web)


@pytest.mark.parametrize("odd", ["\u0307", "\u0301", "\u0323", "\u0303", "\u1d00"])
def test_a_team_name_with_a_mark_or_a_small_capital_is_refused(web, task, odd):
    make_participant(task.track.challenge, username="first", name="AliceTeam")
    UserFactory(username="second")
    key = api_token(web, "second", PASSWORD)
    name = "\u1d00liceTeam" if odd == "\u1d00" else f"Ali{odd}ceTeam"
    answer = requests.post(
        f"{web.url}/api/v1/challenges/{task.track.challenge.slug}/teams/",
        headers={"Authorization": f"Token {key}"},
        json={"name": name},
        timeout=60,
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "name_taken" and "“AliceTeam”" in answer.json()["detail"]
    assert list(
        Team.objects.filter(challenge=task.track.challenge).values_list("name", flat=True)
    ) == ["AliceTeam"]
    no_server_error(web)


# --- issue 51: a task owner's data versions, references and write-up PDFs ----------------------

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture(scope="module")
def small_quota_server(
    django_db_setup, redis_server, tmp_path_factory
) -> Iterator[tuple[WebServer, Path]]:
    """A second server whose teams have 1 MiB of storage (the quota's side of the paths)."""
    data = tmp_path_factory.mktemp("small-quota-data")
    running = start_web_server(
        redis_url=redis_server.url,
        log_path=tmp_path_factory.mktemp("gunicorn-small") / "web.log",
        env={"TEAM_UPLOAD_RATE": "60/hour", "TEAM_STORAGE_QUOTA_MB": "1"},
        data_dir=data,
    )
    yield running, data
    running.stop()


def owner_of(task, username: str):
    owner = make_participant(task.track.challenge, username=username)
    task.owner_team = owner.team
    task.save(update_fields=["owner_team"])
    return owner


def bundle_zip(task, folder: Path, padding: int = 0) -> bytes:
    """A valid new version of ``task``'s bundle, ``padding`` bytes larger (a stored member)."""
    source = zip_bundle(
        write_classification_bundle(folder / "v2", task={"slug": task.slug}), folder / "v2.zip"
    )
    if not padding:
        return source.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as given, zipfile.ZipFile(buffer, "w") as out:
        for info in given.infolist():
            out.writestr(info, given.read(info))
        out.writestr("padding.bin", os.urandom(padding))
    return buffer.getvalue()


def the_three_paths(server, session, key, task, team, *, version, reference, pdf) -> list:
    """A data version (API, page), a reference (API, page) and a write-up PDF (page)."""
    token = {"Authorization": f"Token {key}"}
    return [
        requests.post(
            f"{server.url}/api/v1/tasks/{task.slug}/versions/",
            headers=token,
            files={"file": ("v2.zip", version)},
            data={"reason": "new rows"},
            timeout=120,
        ),
        post_form(
            session, server, f"/tasks/{task.slug}/manage/data/",
            {"reason": "new rows"}, {"bundle": ("v2.zip", version)},
        ),
        requests.post(
            f"{server.url}/api/v1/tasks/{task.slug}/references/",
            headers=token,
            files={"file": ("r.csv", reference)},
            data={"name": "production"},
            timeout=120,
        ),
        post_form(
            session, server, f"/tasks/{task.slug}/manage/references/",
            {"action": "upload", "name": "production"}, {"file": ("r.csv", reference)},
        ),
        post_form(
            session, server, f"/teams/{team.pk}/method/edit/",
            {"title": "Method", "body": "How."}, {"pdf": ("m.pdf", pdf)},
        ),
    ]  # fmt: skip


def nothing_stored_for(task, team) -> None:
    assert not TaskVersionUpload.objects.filter(task=task).exists()
    assert not Reference.objects.filter(task=task, source="upload").exists()
    assert not MethodWriteup.objects.filter(team=team).exists()


def test_a_task_owner_s_versions_references_and_pdfs_stop_at_the_team_s_rate(
    web, task, tmp_path, server_data
):
    keeper = owner_of(task, "keeper")
    key = api_token(web, "keeper", PASSWORD)
    session = web_login(web, "keeper", PASSWORD)
    csrf_token(session, f"{web.url}/tasks/{task.slug}/manage/")
    data = csv_bytes(predictions_frame(task, scores=False))
    for _ in range(60):  # the team's rate, used up by its prediction files
        answer = requests.post(
            f"{web.url}/api/v1/tasks/{task.slug}/submissions/",
            headers={"Authorization": f"Token {key}"},
            files={"file": ("p.csv", data)},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text
    before = stored_bytes(server_data)
    answers = the_three_paths(
        web, session, key, task, keeper.team,
        version=bundle_zip(task, tmp_path), reference=data, pdf=PDF,
    )  # fmt: skip
    assert [a.status_code for a in answers] == [429] * 5, [a.text[:300] for a in answers]
    for answer in answers:
        assert int(answer.headers["Retry-After"]) > 0
        assert "Too many uploads: your team sent 60 in the last hour" in answer.text
    assert answers[0].json()["code"] == answers[2].json()["code"] == "rate_limited"
    nothing_stored_for(task, keeper.team)
    assert stored_bytes(server_data) == before
    no_server_error(web)


def test_a_task_owner_s_versions_references_and_pdfs_stop_at_the_storage_quota(
    small_quota_server, task, tmp_path
):
    server, data_dir = small_quota_server
    server.clear_cache()
    keeper = owner_of(task, "hoarder")
    key = api_token(server, "hoarder", PASSWORD)
    session = web_login(server, "hoarder", PASSWORD)
    csrf_token(session, f"{server.url}/tasks/{task.slug}/manage/")
    over = 1100 * 1024
    reference = csv_bytes(predictions_frame(task, scores=False))
    before = stored_bytes(data_dir)
    answers = the_three_paths(
        server, session, key, task, keeper.team,
        version=bundle_zip(task, tmp_path, padding=over),
        reference=reference + b"\n" * over,
        pdf=PDF + b"0" * over,
    )  # fmt: skip
    assert [a.status_code for a in answers] == [413] * 5, [a.text[:300] for a in answers]
    for answer in answers:
        assert "storage quota is 1 MiB" in answer.text and "nothing was stored" in answer.text
    assert answers[0].json()["code"] == answers[2].json()["code"] == "storage_quota"
    nothing_stored_for(task, keeper.team)
    assert stored_bytes(data_dir) == before
    no_server_error(server)
