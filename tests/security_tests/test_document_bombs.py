"""Issue 51's document bombs, through the real web server (gunicorn as the Procfile starts it,
one worker process, real HTTP), each measured on that process's peak resident memory:

- a ``task.yaml`` alias bomb of 7, 8 and 32 levels (507 bytes at 7 levels stand for 10^8
  strings; the web worker went from 593 MB to 4.1 GB) through the task-version upload
  ``POST /api/v1/tasks/<slug>/versions/``, and the same in an ``algorithm.yaml``: each a 400
  naming the refused anchor;
- a method write-up of 29,000 ``[`` (the longest a save may hold is ``TEAM_TEXT_MAX_CHARS``,
  30,000 by default; 100,000 is refused with 413 before any rendering) and an algorithm
  description of 20,000 ``[`` (quadratic in the former renderer: 60 s of CPU for 20,000 per
  view): stored with their rendering when saved, then shown.

The web process grows by at most 50 MB for each. No view renders Markdown: the pages show
the stored HTML, which ``tests/challenges_tests/test_markdown_stored.py`` proves by counting
the parser's calls during every page that shows Markdown (a count cannot be taken inside the
server). No answer is a 500 or a traceback. Time is not asserted (bench/bench_markdown.py
measures it as a ratio).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from datasets.models import VersionUploadStatus
from datasets.version_uploads import task_version_check
from testkit.archives import HONEST_MAIN, make_zip, manifest
from tests.datasets_tests.core_yaml_bounds_helpers import alias_bomb
from tests.scoring_tests.factories import imported_task, make_participant
from tests.support.web_server import WebServer, api_token, csrf_token, start_web_server, web_login

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"  # UserFactory's
GROWTH_MB = 50
REFUSED_ALIAS = "anchors (&name) and aliases (*name) are not accepted here"


@pytest.fixture(scope="module")
def server(django_db_setup, redis_server, tmp_path_factory) -> Iterator[WebServer]:
    running = start_web_server(
        redis_url=redis_server.url,
        log_path=tmp_path_factory.mktemp("gunicorn") / "web.log",
        env={"TEAM_UPLOAD_RATE": "1000/hour"},  # the budget is another test's subject
        workers=1,
    )
    yield running
    running.stop()


class Peak:
    """The web worker's peak resident memory above what it held when this was made
    (``/proc/<pid>/clear_refs`` 5 resets the kernel's high-water mark)."""

    def __init__(self, server: WebServer) -> None:
        (worker,) = psutil.Process(server.process.pid).children()
        self.pid = worker.pid
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.idle_kib = self._status("VmRSS")

    def _status(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise LookupError(key)

    def growth_mb(self) -> float:
        return (self._status("VmHWM") - self.idle_kib) / 1024


def bundle_zip(task_folder: Path, task_yaml: str) -> bytes:
    """The task's own bundle with ``task_yaml`` in place of its task.yaml."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in task_folder.rglob("*") if p.is_file()):
            name = path.relative_to(task_folder).as_posix()
            archive.writestr(name, task_yaml if name == "task.yaml" else path.read_bytes())
    return buffer.getvalue()


def algorithm_archive(manifest_text: str) -> bytes:
    return make_zip({"algorithm.yaml": manifest_text, "main.py": HONEST_MAIN})


@pytest.fixture
def owner(server: WebServer, tmp_path: Path):
    """A task whose owner team is alice's: she may upload its versions, algorithms and a
    method write-up."""
    server.clear_cache()
    task = imported_task(tmp_path, slug="bomb-task")
    alice = make_participant(task.track.challenge, username="alice", name="Alice")
    task.owner_team = alice.team
    task.save(update_fields=["owner_team"])
    folder = next(p for p in tmp_path.iterdir() if p.name.startswith("bundle-"))
    return {
        "task": task,
        "team": alice.team,
        "bundle": folder,
        "headers": {"Authorization": f"Token {api_token(server, 'alice', PASSWORD)}"},
        "session": web_login(server, "alice", PASSWORD),
    }


def upload_version(server: WebServer, owner: dict, task_yaml: str) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/tasks/{owner['task'].slug}/versions/",
        files={"file": ("bundle.zip", bundle_zip(owner["bundle"], task_yaml), "application/zip")},
        data={"reason": "a probe"},
        headers=owner["headers"],
        timeout=120,
    )


def upload_algorithm(server: WebServer, owner: dict, manifest_text: str) -> requests.Response:
    slug = owner["task"].track.challenge.slug
    return requests.post(
        f"{server.url}/api/v1/challenges/{slug}/algorithms/",
        files={"file": ("algo.zip", algorithm_archive(manifest_text), "application/zip")},
        headers=owner["headers"],
        timeout=120,
    )


def save_writeup(server: WebServer, owner: dict, body: str) -> requests.Response:
    session, path = owner["session"], f"/teams/{owner['team'].pk}/method/edit/"
    token = csrf_token(session, server.url + path)
    return session.post(
        server.url + path,
        data={"title": "Our method", "body": body, "csrfmiddlewaretoken": token},
        headers={"Referer": server.url + path},
        allow_redirects=False,
        timeout=120,
    )


def no_server_error(server: WebServer) -> None:
    log = server.log_tail(200_000)
    assert "Traceback" not in log and '" 500 ' not in log, log[-4000:]


def test_yaml_alias_bombs_are_refused_within_50_mb(server, owner):
    """A data version is only stored by the web process (answered 202) and checked by a
    worker's job (issue 51: parsing moves off the web process); the algorithm upload is
    read in the request. Either way the bomb is refused naming its anchor, the web process
    grows by at most 50 MB, and the check's answer quotes no expanded value."""
    # Warm the paths measured below (imports, first queries): a two-level bomb of each.
    assert version_refusal(server, owner, alias_bomb(2))
    assert upload_algorithm(server, owner, alias_bomb(2, key="description")).status_code == 400
    for levels in (7, 8, 32):
        peak = Peak(server)
        problems = version_refusal(server, owner, alias_bomb(levels))
        assert peak.growth_mb() <= GROWTH_MB, (levels, peak.growth_mb())
        assert any(REFUSED_ALIAS in p for p in problems), problems
        assert sum(len(p) for p in problems) < 20_000  # the message quotes no expanded value

        peak = Peak(server)
        refused = upload_algorithm(server, owner, alias_bomb(levels, key="description"))
        assert refused.status_code == 400, refused.text[:2000]
        assert REFUSED_ALIAS in refused.text and len(refused.content) < 20_000
        assert peak.growth_mb() <= GROWTH_MB, (levels, peak.growth_mb())
    owner["task"].refresh_from_db()
    assert owner["task"].data_version == 1  # nothing replaced
    no_server_error(server)


def version_refusal(server: WebServer, owner: dict, task_yaml: str) -> list[str]:
    """Upload ``task_yaml`` as a data version (202: stored, not parsed), run the check's job
    body here as a worker would (the web process stays out of it), and return the problems
    the owner then reads from the upload's status."""
    stored = upload_version(server, owner, task_yaml)
    assert stored.status_code == 202, stored.text[:2000]
    assert task_version_check(upload_pk=stored.json()["id"]) == VersionUploadStatus.REFUSED
    answer = requests.get(stored.headers["Location"], headers=owner["headers"], timeout=60)
    assert answer.status_code == 200, answer.text[:2000]
    body = answer.json()
    assert body["status"] == VersionUploadStatus.REFUSED, body
    return body["problems"]


def test_markdown_bombs_are_stored_rendered_once_and_shown_within_50_mb(server, owner):
    session = owner["session"]
    assert save_writeup(server, owner, "warm *up*").status_code == 302
    warm = upload_algorithm(server, owner, manifest("Warm", description="warm *up*"))
    assert warm.status_code == 201, warm.text[:2000]
    session.get(f"{server.url}/algorithms/{warm.json()['id']}/", timeout=60)

    peak = Peak(server)
    refused = save_writeup(server, owner, "[" * 100_000)
    assert refused.status_code == 413, refused.text[:2000]
    saved = save_writeup(server, owner, "[" * 29_000)
    assert saved.status_code == 302, saved.text[:2000]
    page = session.get(f"{server.url}/teams/{owner['team'].pk}/method/", timeout=60)
    assert page.status_code == 200 and "[" * 1000 in page.text
    assert peak.growth_mb() <= GROWTH_MB, peak.growth_mb()

    peak = Peak(server)
    brackets = 'name: Brackets\ndescription: "' + "[" * 20_000 + '"\n'  # the longest allowed
    created = upload_algorithm(server, owner, brackets)
    assert created.status_code == 201, created.text[:2000]
    for _ in range(3):  # each view reads the stored rendering
        page = session.get(f"{server.url}/algorithms/{created.json()['id']}/", timeout=60)
        assert page.status_code == 200 and "[" * 1000 in page.text
    assert peak.growth_mb() <= GROWTH_MB, peak.growth_mb()
    no_server_error(server)
